<?php

declare(strict_types=1);

namespace AsyncBatch\Laravel;

use AsyncBatch\InvalidConfigException;
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
 *
 * Records reach the job as data (AsyncBatchFormatter's arrays): Laravel's monolog
 * driver would put a LineFormatter on the handler, making each record a string.
 */
final class LogChannel
{
    /** The keys the channel takes: Laravel's own (driver, via, tap) and the handler's. */
    private const KEYS = ['driver', 'via', 'tap', 'job', 'level', 'bubble', 'name'];

    public function __construct(private Application $app)
    {
    }

    /**
     * @param array<string, mixed> $config the channel's entry in config/logging.php
     * @throws InvalidConfigException an unknown key: Laravel writes it to its
     *                                emergency log, naming the key, and logs there
     */
    public function __invoke(array $config): Logger
    {
        foreach (array_keys($config) as $key) {
            if (!\in_array($key, self::KEYS, true)) {
                throw new InvalidConfigException(
                    "the asyncbatch log channel has an unknown key '$key'; it takes " . implode(', ', self::KEYS)
                    . " (the job's config, batchSize and the rest, goes in config/asyncbatch.php)"
                );
            }
        }
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
