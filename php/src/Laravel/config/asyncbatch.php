<?php

// asyncbatch's jobs, registered when the application boots (AsyncBatchServiceProvider).
// Publish this file with: php artisan vendor:publish --tag=asyncbatch-config
//
// Each job takes one of:
//   'url' => 'https://...', 'options' => [...]   posted by an AsyncBatch\HttpSink
//                                                (in the extension, from a background thread)
//   'via' => App\Telemetry\SendBatch::class      an invokable class the container makes;
//                                                it is given the list of items
// and 'config' => [...], the job's config: batchSize, callPeriod, maxRetries, ...
// Send Laravel's logs to a job with the log channel AsyncBatch\Laravel\LogChannel
// (config/logging.php).

return [
    'jobs' => [
        // 'logs' => [
        //     'url' => env('ASYNCBATCH_LOGS_URL'),
        //     'options' => ['format' => 'ndjson', 'gzip' => true],
        //     'config' => ['batchSize' => 500, 'callPeriod' => 1],
        // ],
    ],
];
