<?php

/**
 * Stubs for the asyncbatch extension, for IDEs and static analysis.
 *
 * The pure-PHP polyfill (php/ in the repository, Composer package
 * asyncbatch/asyncbatch) declares the same API where the extension is not loaded.
 * `scripts/check-stubs.php` checks this file against both.
 *
 * @generate-class-entries
 */

namespace {
    /**
     * Hands items off to jobs and has them delivered in batches: after the response
     * is sent (the shutdown runner, the default), or by the per-host daemon.
     *
     * Jobs are process-wide: every instance sees the same registry, and it lasts for
     * the request (callables cannot outlive it).
     */
    class AsyncBatchRunner
    {
        /**
         * Registers a job, or replaces the callable and config of a registered one.
         *
         * @param string $identifier 1 to 128 bytes, no NUL byte.
         * @param callable(list<mixed>): mixed $func Receives a list of items; fails when
         *        it returns false or throws, and is then retried.
         * @param array{batchSize?: int, callPeriod?: int|float, maxRetries?: int,
         *        retryDelay?: int|float, maxQueueSize?: int, withBatchId?: bool} $config
         * @throws \AsyncBatch\InvalidConfigException naming the bad identifier, key or value.
         */
        public function registerAsyncJob(string $identifier, callable $func, array $config = []): void {}

        /**
         * Queues an item; returns at once. Items are null, bool, int, float, string and
         * arrays of those; a JsonSerializable object is stored as its data.
         *
         * @throws \AsyncBatch\UnknownJobException when the job is not registered.
         * @throws \AsyncBatch\InvalidItemException for objects, closures, resources,
         *         nesting deeper than 512 levels or an item over asyncbatch.max_item_size.
         */
        public function submitItem(string $identifier, mixed $item): void {}

        /**
         * Delivers what is pending for the job (every job when null) now.
         *
         * @return int Items delivered.
         * @throws \AsyncBatch\UnknownJobException
         */
        public function flush(?string $identifier = null): int {}

        /**
         * The end of a request in a long-running worker (Octane, RoadRunner, Swoole,
         * FrankenPHP's worker mode), called once the response is sent: what the end
         * of a php-fpm request does. Every job's spooled segments, then its queue,
         * are delivered within asyncbatch.shutdown_budget; the rest is spooled for
         * the next call. Jobs with a background thread (an HttpSink, the daemon
         * runner) are left to it. Delivery failures are recorded, not thrown.
         * From the first call on, submitItem() in the CLI leaves due batches to
         * the next call instead of delivering them inside a request.
         *
         * @return int Items delivered.
         */
        public function endRequest(): int {}

        /**
         * Counters per job: submitted, delivered, batches, failedBatches, retries,
         * persisted, queued, spooled, dropped, lastError, lastFlushAt.
         *
         * @return array<string, array{submitted: int, delivered: int, batches: int,
         *         failedBatches: int, retries: int, persisted: int, queued: int,
         *         spooled: int, dropped: int, lastError: ?string, lastFlushAt: ?float}>
         */
        public function stats(): array {}

        /**
         * Replays stored failed batches of the job (every registered job when null)
         * through the callables registered now, once each.
         *
         * @return int Items delivered.
         * @throws \AsyncBatch\UnknownJobException
         * @throws \AsyncBatch\StorageException when the failure directory cannot be used.
         */
        public static function retryFailed(?string $identifier = null): int {}
    }
}

namespace AsyncBatch {
    /** A bad job identifier, an unknown config key or a bad config value. */
    class InvalidConfigException extends \InvalidArgumentException {}

    /** An item that cannot be queued; nothing of it was queued. */
    class InvalidItemException extends \InvalidArgumentException {}

    /** A job identifier that is not registered in this request. */
    class UnknownJobException extends \InvalidArgumentException {}

    /** A spool or failure directory that cannot be used. */
    class StorageException extends \RuntimeException {}

    /**
     * A job callable that posts each batch to an HTTP endpoint. The extension posts
     * from Rust (a background thread of the worker, or the daemon), with no PHP code
     * per batch; the polyfill posts with curl or PHP streams.
     */
    final class HttpSink
    {
        /**
         * @param string $url http:// or https:// with a host.
         * @param array{headers?: array<string, string>, format?: 'json'|'ndjson'|'otlp',
         *        timeout?: int|float, gzip?: bool, caFile?: string, clientCert?: string,
         *        clientKey?: string, proxy?: string, resource?: array<string, string>,
         *        idempotencyHeader?: string|false, maxBatchBytes?: int,
         *        batchSize?: int, callPeriod?: int|float,
         *        maxRetries?: int, retryDelay?: int|float, maxQueueSize?: int} $options
         *        The job keys become the config of the job it is registered for;
         *        caFile, clientCert and clientKey are PEM files, read here.
         * @throws InvalidConfigException naming the bad URL, option or file.
         */
        public function __construct(string $url, array $options = []) {}

        /**
         * Posts the items now, under `$batchId` (sent as the Idempotency-Key; a new id
         * when null). Not cut by maxBatchBytes: a larger body throws.
         *
         * @throws HttpSinkException when the endpoint does not answer 2xx.
         */
        public function __invoke(array $items, ?string $batchId = null): bool {}
    }

    /** A batch an HttpSink could not deliver. */
    class HttpSinkException extends \RuntimeException
    {
        /** False for answers that retrying cannot fix (4xx but 408 and 429). */
        public function isRetryable(): bool {}

        /** The HTTP status, or null for a connection error or a timeout. */
        public function getStatusCode(): ?int {}

        /** Seconds the endpoint asked to wait (Retry-After), or null. */
        public function getRetryAfter(): ?float {}
    }
}
