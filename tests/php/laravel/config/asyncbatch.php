<?php
// The application's copy of the package's config/asyncbatch.php.
return [
    'jobs' => [
        'logs' => [
            'via' => BatchWriter::class,
            'config' => ['batchSize' => 100, 'maxRetries' => 0],
        ] + (getenv('AB_MISPLACED_KEY') ? ['batchSize' => 5] : []),
    ],
];
