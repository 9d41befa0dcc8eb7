<?php
// The channel a Laravel user writes to send the application's logs through asyncbatch.
return [
    'default' => 'asyncbatch',
    'channels' => [
        'asyncbatch' => [
            'driver' => 'custom',
            'via' => AsyncBatch\Laravel\LogChannel::class,
            'job' => 'logs',
        ] + (getenv('AB_BAD_CHANNEL_KEY') ? ['batchSize' => 5] : []),
    ],
];
