<?php
return [
    'default' => 'sqlite',
    'connections' => [
        'sqlite' => ['driver' => 'sqlite', 'database' => dirname(__DIR__) . '/storage/queue.sqlite', 'prefix' => ''],
    ],
];
