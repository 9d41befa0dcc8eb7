<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\HttpSink;
use AsyncBatch\HttpSinkException;

/**
 * One batch to its job's callable: the call, the retries (up to maxRetries, after
 * the Backoff's delay, or the server's Retry-After when longer), and the failure
 * store once the last attempt has failed. A failure is a `false` return or a throw
 * ("Delivery (shutdown runner)" in docs/internals.md). Every call of a batch carries
 * its batch id; a sink job's batch over the sink's maxBatchBytes is delivered in
 * pieces (BatchSplit).
 */
final class Retry
{
    /** @var (callable(): float)|null */
    private $jitter;

    /**
     * @param FailureStore|\Closure(): FailureStore $failures where a batch goes after its
     *        last attempt, or what makes it when first needed (most requests store nothing)
     * @param (callable(): float)|null $jitter the Backoff's jitter source (null: mt_rand())
     */
    public function __construct(private FailureStore|\Closure $failures, ?callable $jitter = null)
    {
        $this->jitter = $jitter;
    }

    /** The failure store. */
    public function failures(): FailureStore
    {
        if ($this->failures instanceof \Closure) {
            $this->failures = ($this->failures)();
        }
        return $this->failures;
    }

    /**
     * Delivers one batch, as pieces when it is a sink job's over maxBatchBytes: each
     * piece as a batch of its own, then each item too big to send to the failure
     * store (no call made).
     *
     * @param list<mixed> $batch
     * @return int|null the items delivered; null when the budget stopped delivery
     *                  (the whole batch is to be kept, with its id, so that a later
     *                  run splits it the same way)
     */
    public function deliverBatch(Job $job, array $batch, string $id, ?Budget $budget): ?int
    {
        if (!$job->func instanceof HttpSink) {
            $ok = $this->deliver($job, $batch, $id, $budget);
            return $ok === null ? null : ($ok ? count($batch) : 0);
        }
        [$pieces, $tooBig] = BatchSplit::of(HttpSinkConfig::of($job->func), $batch, $id);
        $delivered = 0;
        foreach ($pieces as $i => [$items, $pieceId]) {
            if ($i > 0 && $budget !== null && !$budget->mayStart($job)) {
                return null;
            }
            $ok = $this->deliver($job, $items, $pieceId, $budget);
            if ($ok === null) {
                return null;
            }
            $delivered += $ok ? count($items) : 0;
        }
        foreach ($tooBig as [$item, $error, $itemId]) {
            $now = microtime(true);
            $job->lastError = $error;
            $this->store($job, [$item], 0, $error, $now, $now, $itemId);
        }
        return $delivered;
    }

    /**
     * Delivers one batch as it is: calls, retries with backoff, and the failure store
     * at the end.
     *
     * @param list<mixed> $batch
     * @return bool|null true delivered, false stored as failed (or dropped), null
     *                   stopped by the budget before a retry
     */
    public function deliver(Job $job, array $batch, string $id, ?Budget $budget): ?bool
    {
        $n = count($batch);
        $firstAt = null;
        $backoff = null;
        for ($attempt = 1; ; $attempt++) {
            $firstAt ??= microtime(true);
            $error = $this->once($job, $batch, $id, $http);
            if ($error === null) {
                $job->delivered += $n;
                $job->batches++;
                return true;
            }
            $failedAt = microtime(true);
            // An HTTP status that says the request itself is wrong: retrying cannot help.
            $permanent = $http !== null && !$http->isRetryable();
            if ($permanent || $attempt > $job->maxRetries) {
                $this->store($job, $batch, $attempt, $error, $firstAt, $failedAt, $id);
                return false;
            }
            $backoff ??= new Backoff($job->retryDelay, $this->jitter);
            // The server's Retry-After is a floor under the backoff.
            $delay = max($backoff->delay($attempt), $http?->getRetryAfter() ?? 0.0);
            if ($budget !== null && !$budget->mayWait($delay)) {
                return null;
            }
            // Retries are counted in stats(), not logged: an outage would log every attempt.
            if ($delay > 0) {
                usleep((int) round($delay * 1e6));
            }
            $job->retries++;
            if ($job->func instanceof HttpSink) {
                $job->http->retries++;
            }
        }
    }

    /**
     * Calls the job's callable once: with the batch id too when it is an HttpSink
     * (its idempotency header) or the job asked for it (withBatchId). An
     * HttpSinkException's message is the error as it is (`HTTP 503 ...`); other
     * exceptions are prefixed with their class.
     *
     * @param list<mixed> $batch
     * @param HttpSinkException|null $http set to the exception when the call threw one
     * @return string|null why the call failed, or null on success
     */
    public function once(Job $job, array $batch, string $id, ?HttpSinkException &$http = null): ?string
    {
        $job->lastFlushAt = microtime(true);
        $http = null;
        $t = hrtime(true);
        $sink = $job->func instanceof HttpSink;
        if ($sink) {
            // Only a sink touches HttpPost: another callable does not load it.
            HttpPost::$stats = $job->http;
        }
        try {
            $result = $job->withBatchId || $sink ? ($job->func)($batch, $id) : ($job->func)($batch);
            $error = $result === false ? 'callable returned false' : null;
        } catch (HttpSinkException $e) {
            $http = $e;
            $error = $e->getMessage();
        } catch (\Throwable $e) {
            $error = get_class($e) . ': ' . $e->getMessage();
        } finally {
            if ($sink) {
                HttpPost::$stats = null;
            }
        }
        $job->measured((hrtime(true) - $t) / 1e9);
        if ($error !== null) {
            $job->lastError = $error;
        }
        return $error;
    }

    /**
     * A batch that failed its last attempt: to the failure store, logged in one
     * line; when the store refuses it, dropped, counted and logged.
     *
     * @param list<mixed> $batch
     */
    private function store(
        Job $job,
        array $batch,
        int $attempts,
        string $error,
        float $firstAt,
        float $failedAt,
        string $id,
    ): void {
        $n = count($batch);
        $job->failedBatches++;
        [$path, $why] = $this->failures()->store($job->identifier, $batch, $attempts, $error, $firstAt, $failedAt, $id);
        if ($path === null) {
            $job->dropped += $n;
            $job->lastError = $why;
            error_log($why);
            return;
        }
        $job->persisted += $n;
        if ($job->func instanceof HttpSink) {
            $job->http->failures++;
        }
        Log::line(sprintf(
            "job '%s': a batch of %s failed %d times (%s); stored in %s",
            $job->identifier,
            Log::items($n),
            $attempts,
            $error,
            $path,
        ));
    }
}
