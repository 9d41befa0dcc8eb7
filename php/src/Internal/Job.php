<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * One registered job in this process: its callable and settings, the items queued
 * in memory (in order) and the counters stats() reports.
 */
final class Job
{
    /** @var callable */
    public $func;
    public int $batchSize;
    public float $callPeriod;
    public int $maxRetries;
    public float $retryDelay;
    public int $maxQueueSize;
    /** Whether the callable is called as $func($items, $batchId). */
    public bool $withBatchId = false;

    /** @var list<mixed> items waiting in memory, oldest first */
    public array $queue = [];
    /**
     * @var list<string> the MessagePack encoding of each item in $queue, made at
     *      submit (the journal is written from them); taken and emptied with it
     */
    public array $encoded = [];
    /** microtime(true) at which the oldest queued item is callPeriod old. */
    public float $dueAt = 0.0;
    /** Queue length at which submitItem() hands over to the runtime (batchSize in the CLI, else maxQueueSize). */
    public int $threshold;
    /** Moving average of call durations in seconds (each new one weighs 0.3), null before the first. */
    public ?float $estimate = null;

    public int $submitted = 0;
    public int $delivered = 0;
    public int $batches = 0;
    public int $failedBatches = 0;
    public int $retries = 0;
    public int $persisted = 0;
    public int $spooled = 0;
    public int $dropped = 0;
    public ?string $lastError = null;
    public ?float $lastFlushAt = null;
    /** The `http` counters, once the job's callable has been an HttpSink. */
    public ?HttpStats $http = null;

    private ?string $key = null;

    public function __construct(public readonly string $identifier)
    {
    }

    /** Takes the callable and settings of a (re-)registration; the queue stays. */
    public function configure(callable $func, JobConfig $c): void
    {
        $this->func = $func;
        $this->batchSize = $c->batchSize;
        $this->callPeriod = $c->callPeriod;
        $this->maxRetries = $c->maxRetries;
        $this->retryDelay = $c->retryDelay;
        $this->maxQueueSize = $c->maxQueueSize;
        $this->withBatchId = $c->withBatchId;
        if ($func instanceof \AsyncBatch\HttpSink) {
            $this->http ??= new HttpStats();
        }
        $this->threshold = PHP_SAPI === 'cli' ? min($c->batchSize, $c->maxQueueSize) : $c->maxQueueSize;
    }

    /**
     * Takes the queued items, and their encodings, out of the queue.
     *
     * @return array{0: list<mixed>, 1: list<string>}
     */
    public function take(): array
    {
        $taken = [$this->queue, $this->encoded];
        $this->queue = [];
        $this->encoded = [];
        return $taken;
    }

    /** The job key used in file names. */
    public function key(): string
    {
        return $this->key ??= Fs::jobKey($this->identifier);
    }

    /** Records the duration of one call in the moving average. */
    public function measured(float $seconds): void
    {
        $this->estimate = $this->estimate === null ? $seconds : 0.7 * $this->estimate + 0.3 * $seconds;
    }

    /** The counters, with exactly the keys of docs/internals.md, in its order (`http` for a sink job). */
    public function stats(): array
    {
        $stats = [
            'submitted' => $this->submitted,
            'delivered' => $this->delivered,
            'batches' => $this->batches,
            'failedBatches' => $this->failedBatches,
            'retries' => $this->retries,
            'persisted' => $this->persisted,
            'queued' => count($this->queue),
            'spooled' => $this->spooled,
            'dropped' => $this->dropped,
            'lastError' => $this->lastError,
            'lastFlushAt' => $this->lastFlushAt,
        ];
        if ($this->http !== null) {
            $stats['http'] = $this->http->toArray();
        }
        return $stats;
    }
}
