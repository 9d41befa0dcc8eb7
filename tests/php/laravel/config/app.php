<?php
// No asyncbatch provider here: Laravel discovers it (composer.json extra.laravel).
return [
    'name' => 'asyncbatch-e2e',
    'env' => 'testing',
    'debug' => true,
    'timezone' => 'UTC',
    // What a Laravel application lists, for artisan's commands and the queue worker.
    'providers' => [
        Illuminate\Bus\BusServiceProvider::class,
        Illuminate\Cache\CacheServiceProvider::class,
        Illuminate\Database\DatabaseServiceProvider::class,
        Illuminate\Filesystem\FilesystemServiceProvider::class,
        Illuminate\Foundation\Providers\ConsoleSupportServiceProvider::class,
        Illuminate\Foundation\Providers\FoundationServiceProvider::class,
        Illuminate\Queue\QueueServiceProvider::class,
    ],
];
