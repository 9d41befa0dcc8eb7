<?php

declare(strict_types=1);

namespace AsyncBatch\Laravel;

use AsyncBatch\HttpSink;
use AsyncBatch\Internal\Log;
use AsyncBatch\InvalidConfigException;
use AsyncBatchRunner;
use Illuminate\Support\ServiceProvider;

/**
 * asyncbatch in a Laravel application (auto-discovered: the package's composer.json
 * names it in extra.laravel.providers).
 *
 * - Registers the jobs of config/asyncbatch.php (`php artisan vendor:publish
 *   --tag=asyncbatch-config`) when the application boots: in every request under
 *   php-fpm (a registration lasts one request), once per worker under Octane.
 * - Ends asyncbatch's request when the application terminates, after the response
 *   (Kernel::terminate(), which Octane runs after each request too):
 *   AsyncBatchRunner::endRequest() delivers every job's items within
 *   asyncbatch.shutdown_budget, so the items of a request are delivered before the
 *   next one in a long-running worker. A failure is written to PHP's error log,
 *   never thrown.
 * - Binds AsyncBatchRunner as a singleton, for code that submits items, and the
 *   log channel (LogChannel) that sends records to a job.
 */
final class AsyncBatchServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->mergeConfigFrom(__DIR__ . '/config/asyncbatch.php', 'asyncbatch');
        $this->app->singleton(AsyncBatchRunner::class, static fn (): AsyncBatchRunner => new AsyncBatchRunner());
    }

    public function boot(): void
    {
        $this->publishes([__DIR__ . '/config/asyncbatch.php' => $this->app->configPath('asyncbatch.php')], 'asyncbatch-config');

        $runner = $this->app->make(AsyncBatchRunner::class);
        foreach ((array) $this->app['config']->get('asyncbatch.jobs', []) as $job => $spec) {
            $runner->registerAsyncJob((string) $job, $this->deliverer((string) $job, (array) $spec), (array) ($spec['config'] ?? []));
        }
        $this->app->terminating(static function () use ($runner): void {
            try {
                $runner->endRequest();
            } catch (\Throwable $e) {
                Log::caught('the Laravel provider could not deliver at terminate', $e);
            }
        });
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
