<?php

declare(strict_types=1);

namespace AsyncBatch\Laravel;

use AsyncBatch\Monolog\AsyncBatchHandler;
use AsyncBatchRunner;
use Illuminate\Contracts\Foundation\Application;
use Monolog\Logger;

/**
 * A Laravel log channel whose records go to an asyncbatch job (registered by
 * config/asyncbatch.php), delivered in batches after the response:
 *
 * ```php
 * // config/logging.php, in 'channels'
 * 'asyncbatch' => [
 *     'driver' => 'custom',
 *     'via' => AsyncBatch\Laravel\LogChannel::class,
 *     'job' => 'logs',          // the job in config/asyncbatch.php
 *     'level' => 'debug',       // optional, as every channel's
 * ],
 * ```
 */
final class LogChannel
{
    public function __construct(private Application $app)
    {
    }

    /** @param array<string, mixed> $config the channel's entry in config/logging.php */
    public function __invoke(array $config): Logger
    {
        $handler = new AsyncBatchHandler(
            (string) ($config['job'] ?? 'logs'),
            null,
            [],
            $config['level'] ?? 'debug',
            (bool) ($config['bubble'] ?? true),
            $this->app->make(AsyncBatchRunner::class),
        );

        return new Logger((string) ($config['name'] ?? $this->app->environment()), [$handler]);
    }
}
