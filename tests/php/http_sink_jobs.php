<?php
// Registers an AsyncBatch\HttpSink job from the environment: the bootstrap of the
// daemon and of `asyncbatch failed:retry` in the HTTP sink tests, and the setup of
// http_sink_cli.php.
//
//   AB_HTTP_URL      the sink's URL (required)
//   AB_HTTP_JOB      identifier (default e2e)
//   AB_HTTP_BATCH    batchSize (default 100)
//   AB_HTTP_PERIOD   callPeriod (default 0.2)
//   AB_HTTP_RETRIES  maxRetries (default 3)
//   AB_HTTP_DELAY    retryDelay (default 0.05)
//   AB_HTTP_TIMEOUT  timeout (default 5)
//   AB_HTTP_FORMAT   json (default) or ndjson
//   AB_HTTP_GZIP     1 to gzip the bodies
//   AB_HTTP_CA_FILE, AB_HTTP_CLIENT_CERT, AB_HTTP_CLIENT_KEY, AB_HTTP_PROXY
//                    caFile, clientCert, clientKey, proxy (when set)
declare(strict_types=1);

$url = getenv('AB_HTTP_URL');
if (!is_string($url) || $url === '') {
    throw new RuntimeException('AB_HTTP_URL is not set');
}
$env = static fn (string $name, string $default): string => getenv($name) ?: $default;
$given = [];
foreach (['caFile' => 'AB_HTTP_CA_FILE', 'clientCert' => 'AB_HTTP_CLIENT_CERT', 'clientKey' => 'AB_HTTP_CLIENT_KEY', 'proxy' => 'AB_HTTP_PROXY'] as $option => $name) {
    if (($v = getenv($name)) !== false && $v !== '') {
        $given[$option] = $v;
    }
}
(new AsyncBatchRunner())->registerAsyncJob($env('AB_HTTP_JOB', 'e2e'), new AsyncBatch\HttpSink($url, $given + [
    'batchSize' => (int) $env('AB_HTTP_BATCH', '100'),
    'callPeriod' => (float) $env('AB_HTTP_PERIOD', '0.2'),
    'maxRetries' => (int) $env('AB_HTTP_RETRIES', '3'),
    'retryDelay' => (float) $env('AB_HTTP_DELAY', '0.05'),
    'timeout' => (float) $env('AB_HTTP_TIMEOUT', '5'),
    'format' => $env('AB_HTTP_FORMAT', 'json'),
    'gzip' => $env('AB_HTTP_GZIP', '0') === '1',
]));
