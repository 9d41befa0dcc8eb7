<?php

declare(strict_types=1);

use AsyncBatch\Internal\Items;
use AsyncBatch\Internal\Phase;
use AsyncBatch\Internal\Runtime;

/**
 * Hands items off to batch jobs, delivered after the response is sent: the pure-PHP
 * implementation of the asyncbatch extension's API, loaded only where the extension
 * is not. Jobs are shared by every instance; see docs/internals.md for the contract.
 */
class AsyncBatchRunner
{
    public function __construct()
    {
    }

    /**
     * Registers a job, or replaces the callable and config of a registered one
     * (items already queued for it stay queued, in order). With withBatchId the
     * callable is called as $func($items, $batchId), the id the same on each retry.
     *
     * @param array{batchSize?: int, callPeriod?: int|float, maxRetries?: int,
     *               retryDelay?: int|float, maxQueueSize?: int, withBatchId?: bool} $config
     * @throws \AsyncBatch\InvalidConfigException naming the identifier or the config key
     */
    public function registerAsyncJob(string $identifier, callable $func, array $config = []): void
    {
        Runtime::register($identifier, $func, $config);
    }

    /**
     * Queues one item. In the CLI a batch that is due is delivered here; elsewhere
     * delivery waits for the end of the request.
     *
     * @throws \AsyncBatch\UnknownJobException
     * @throws \AsyncBatch\InvalidItemException and nothing is queued
     */
    public function submitItem(string $identifier, mixed $item): void
    {
        if (Runtime::$watchFork && Runtime::$pid !== getmypid()) {
            // A child of pcntl_fork() holding its parent's queues.
            Runtime::afterFork();
        }
        $job = Runtime::$jobs[$identifier] ?? throw Runtime::unknownJob($identifier);
        $item = Items::accept($identifier, $item, Runtime::$maxItemSize, $encoded);
        ++$job->submitted;
        if (Runtime::$phase === Phase::Done || Runtime::$phase === Phase::Late) {
            Runtime::late($job, $item, $encoded);
            return;
        }
        if ($job->queue === []) {
            $job->dueAt = microtime(true) + $job->callPeriod;
        }
        $job->queue[] = $item;
        $job->encoded[] = $encoded;
        if (count($job->queue) >= $job->threshold || (Runtime::$cli && microtime(true) >= $job->dueAt)) {
            Runtime::afterQueue($job);
        }
    }

    /**
     * Delivers the job's (or every job's) spooled and queued items now, with retries.
     *
     * @return int items delivered
     * @throws \AsyncBatch\UnknownJobException
     */
    public function flush(?string $identifier = null): int
    {
        return Runtime::flush($identifier);
    }

    /**
     * The end of a request in a long-running worker, once the response is sent:
     * what the end of a php-fpm request does. Spooled segments, then queued items,
     * delivered within asyncbatch.shutdown_budget; the rest is spooled for the next
     * call. Delivery failures are recorded, not thrown. From the first call on,
     * submitItem() in the CLI leaves due batches to the next call instead of
     * delivering them inside a request.
     *
     * @return int items delivered
     */
    public function endRequest(): int
    {
        return Runtime::endRequest();
    }

    /**
     * Counters per job identifier: submitted, delivered, batches, failedBatches,
     * retries, persisted, queued, spooled, dropped, lastError, lastFlushAt.
     *
     * @return array<string, array<string, int|float|string|null>>
     */
    public function stats(): array
    {
        return Runtime::stats();
    }

    /**
     * Replays stored failed batches of the job (or of every registered job) through
     * the registered callables, once each.
     *
     * @return int items delivered
     * @throws \AsyncBatch\UnknownJobException
     * @throws \AsyncBatch\StorageException when the failure directory is refused
     */
    public static function retryFailed(?string $identifier = null): int
    {
        return Runtime::retryFailed($identifier);
    }
}
