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
declare(strict_types=1);

$url = getenv('AB_HTTP_URL');
if (!is_string($url) || $url === '') {
    throw new RuntimeException('AB_HTTP_URL is not set');
}
$env = static fn (string $name, string $default): string => getenv($name) ?: $default;
(new AsyncBatchRunner())->registerAsyncJob($env('AB_HTTP_JOB', 'e2e'), new AsyncBatch\HttpSink($url, [
    'batchSize' => (int) $env('AB_HTTP_BATCH', '100'),
    'callPeriod' => (float) $env('AB_HTTP_PERIOD', '0.2'),
    'maxRetries' => (int) $env('AB_HTTP_RETRIES', '3'),
    'retryDelay' => (float) $env('AB_HTTP_DELAY', '0.05'),
    'timeout' => (float) $env('AB_HTTP_TIMEOUT', '5'),
    'format' => $env('AB_HTTP_FORMAT', 'json'),
    'gzip' => $env('AB_HTTP_GZIP', '0') === '1',
]));
