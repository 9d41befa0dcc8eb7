<?php

declare(strict_types=1);

namespace AsyncBatch\Laravel;

use AsyncBatch\HttpSink;
use AsyncBatch\Internal\Log;
use AsyncBatch\InvalidConfigException;
use AsyncBatchRunner;
use Illuminate\Queue\Events\JobExceptionOccurred;
use Illuminate\Queue\Events\JobProcessed;
use Illuminate\Support\ServiceProvider;

/**
 * asyncbatch in a Laravel application (auto-discovered: the package's composer.json
 * names it in extra.laravel.providers).
 *
 * - Registers the jobs of config/asyncbatch.php (`php artisan vendor:publish
 *   --tag=asyncbatch-config`) when the application boots: in every request under
 *   php-fpm (a registration lasts one request), once per worker under Octane. The
 *   config is plain data (a URL, a class name), so `php artisan config:cache` keeps it.
 * - Ends asyncbatch's request when the application terminates, after the response
 *   (Kernel::terminate(), which Octane runs after each request too), and after each
 *   job of a queue worker (`queue:work`: JobProcessed, JobExceptionOccurred):
 *   AsyncBatchRunner::endRequest() delivers every job's items within
 *   asyncbatch.shutdown_budget, so the items of a request, or of a queued job, are
 *   delivered before the next one in a long-running worker. A job of the sync
 *   connection runs inside the request that dispatched it: its items wait for that
 *   request's end. A failure is written to PHP's error log, never thrown.
 * - Binds AsyncBatchRunner as a singleton, for code that submits items, and the
 *   log channel (LogChannel) that sends records to a job; in the console,
 *   `php artisan asyncbatch:retry-failed [job]`.
 */
final class AsyncBatchServiceProvider extends ServiceProvider
{
    /** The keys a job's spec in config/asyncbatch.php may have. */
    private const SPEC_KEYS = ['url', 'options', 'via', 'config'];

    public function register(): void
    {
        $this->mergeConfigFrom(__DIR__ . '/config/asyncbatch.php', 'asyncbatch');
        $this->app->singleton(AsyncBatchRunner::class, static fn (): AsyncBatchRunner => new AsyncBatchRunner());
    }

    public function boot(): void
    {
        $this->publishes([__DIR__ . '/config/asyncbatch.php' => $this->app->configPath('asyncbatch.php')], 'asyncbatch-config');
        if ($this->app->runningInConsole()) {
            $this->commands([RetryFailedCommand::class]);
        }

        $runner = $this->app->make(AsyncBatchRunner::class);
        foreach ((array) $this->app['config']->get('asyncbatch.jobs', []) as $job => $spec) {
            $job = (string) $job;
            $spec = self::spec($job, $spec);
            $runner->registerAsyncJob($job, $this->deliverer($job, $spec), (array) ($spec['config'] ?? []));
        }
        $end = static function (string $when) use ($runner): void {
            try {
                $runner->endRequest();
            } catch (\Throwable $e) {
                Log::caught("the Laravel provider could not deliver $when", $e);
            }
        };
        $this->app->terminating(static fn () => $end('at terminate'));
        $afterJob = static function (JobProcessed|JobExceptionOccurred $event) use ($end): void {
            if ($event->connectionName !== 'sync') {
                $end('after a queued job');
            }
        };
        $this->app['events']->listen(JobProcessed::class, $afterJob);
        $this->app['events']->listen(JobExceptionOccurred::class, $afterJob);
    }

    /**
     * A job's spec, its keys checked: a misspelt or misplaced key (a batchSize
     * beside 'config', not in it) would otherwise be ignored without a word.
     *
     * @return array<string, mixed>
     */
    private static function spec(string $job, mixed $spec): array
    {
        if (!\is_array($spec)) {
            throw new InvalidConfigException("asyncbatch.jobs.$job must be an array, " . get_debug_type($spec) . ' given');
        }
        foreach (array_keys($spec) as $key) {
            if (!\in_array($key, self::SPEC_KEYS, true)) {
                $hint = \in_array($key, ['batchSize', 'callPeriod', 'maxRetries', 'retryDelay', 'maxQueueSize'], true)
                    ? " ($key belongs in asyncbatch.jobs.$job.config)"
                    : '';
                throw new InvalidConfigException(
                    "asyncbatch.jobs.$job has an unknown key '$key'$hint; a job takes " . implode(', ', self::SPEC_KEYS)
                );
            }
        }

        return $spec;
    }

    /** The job's callable: an HttpSink for 'url', the container's instance of 'via'. */
    private function deliverer(string $job, array $spec): callable
    {
        if (isset($spec['url'])) {
            return new HttpSink((string) $spec['url'], (array) ($spec['options'] ?? []));
        }
        if (isset($spec['via'])) {
            $via = \is_string($spec['via']) ? $this->app->make($spec['via']) : $spec['via'];
            if (\is_callable($via)) {
                return $via;
            }
        }
        throw new InvalidConfigException(
            "asyncbatch.jobs.$job needs 'url' (posted by an AsyncBatch\\HttpSink) or 'via' (an invokable class, given the list of items)"
        );
    }
}
