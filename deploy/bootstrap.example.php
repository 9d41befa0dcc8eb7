<?php

/**
 * The application's asyncbatch jobs, registered in one place.
 *
 * The web code requires this file early in every request; the daemon loads it in
 * each of its workers (`asyncbatch daemon --bootstrap /path/to/this/file.php`), as do
 * `asyncbatch drain` and `asyncbatch failed:retry`. The same registrations everywhere:
 * in a web request under the daemon runner the callables are not called, the items
 * go to the daemon, which calls them.
 *
 * Keep it free of side effects beyond registering jobs: it runs once per daemon
 * worker and once per request.
 *
 * Configuration comes from the environment (supervisord's `environment=`,
 * php-fpm's `env[...]`):
 *   LOG_COLLECTOR_URL     where log records are POSTed as NDJSON
 *                         (default http://127.0.0.1:4318/v1/logs)
 *   LOG_COLLECTOR_TOKEN   sent as `Authorization: Bearer …` when set
 */

declare(strict_types=1);

(static function (): void {
    $url = getenv('LOG_COLLECTOR_URL') ?: 'http://127.0.0.1:4318/v1/logs';
    $token = getenv('LOG_COLLECTOR_TOKEN') ?: null;

    $runner = new AsyncBatchRunner();

    // Log records, e.g. ['ts' => microtime(true), 'level' => 'info', 'msg' => '…', 'ctx' => [...]].
    // One POST per batch of up to 500 records, at least every 2 seconds. A batch the
    // collector refuses is retried 5 times (0.5 s, 1 s, 2 s, … with jitter), then kept
    // in the failure store: `asyncbatch failed:retry --bootstrap this-file.php`.
    $runner->registerAsyncJob(
        'logs',
        static function (array $records) use ($url, $token): bool {
            $body = '';
            foreach ($records as $record) {
                $body .= json_encode($record, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE
                    | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR) . "\n";
            }
            $headers = "Content-Type: application/x-ndjson\r\n";
            if ($token !== null) {
                $headers .= "Authorization: Bearer $token\r\n";
            }
            $context = stream_context_create(['http' => [
                'method' => 'POST',
                'header' => $headers,
                'content' => $body,
                'timeout' => 5.0,
                'ignore_errors' => true, // read the status of a 4xx/5xx answer ourselves
            ]]);
            $answer = @file_get_contents($url, false, $context);
            if ($answer === false) {
                // Thrown: the batch is retried; the message becomes its lastError.
                throw new RuntimeException(sprintf(
                    'log collector %s unreachable: %s',
                    $url,
                    error_get_last()['message'] ?? 'unknown error',
                ));
            }
            $status = preg_match('{^HTTP/\S+ (\d{3})}', $http_response_header[0] ?? '', $m) === 1 ? (int) $m[1] : 0;
            if ($status < 200 || $status >= 300) {
                throw new RuntimeException(sprintf('log collector %s answered %d: %s', $url, $status, substr($answer, 0, 200)));
            }
            return true;
        },
        [
            'batchSize' => 500,     // records per POST
            'callPeriod' => 2.0,    // seconds the oldest record may wait for a full batch
            'maxRetries' => 5,
            'retryDelay' => 0.5,    // seconds before the first retry, doubling
            'maxQueueSize' => 10000, // records held in a PHP process's memory before the spool
        ],
    );
})();
