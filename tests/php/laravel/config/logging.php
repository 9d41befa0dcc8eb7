<?php
// The channel a Laravel user writes to send the application's logs through asyncbatch.
return [
    'default' => 'asyncbatch',
    'channels' => [
        'asyncbatch' => [
            'driver' => 'custom',
            'via' => AsyncBatch\Laravel\LogChannel::class,
            'job' => 'logs',
        ],
    ],
];
