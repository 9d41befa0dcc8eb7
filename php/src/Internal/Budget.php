<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The time budget of a delivery (ini asyncbatch.shutdown_budget at shutdown, `drain
 * --max-time`): a batch is not started when the job's estimated call time would
 * overrun it (the first batch always is), and a retry is not waited for when its
 * delay would.
 */
final class Budget
{
    private int $start;
    private int $started = 0;
    private bool $ranOut = false;

    public function __construct(private readonly float $seconds)
    {
        $this->start = hrtime(true);
    }

    /** Seconds since the delivery began. */
    public function elapsed(): float
    {
        return (hrtime(true) - $this->start) / 1e9;
    }

    /** Whether a new batch of $job may start; counts it when it may. */
    public function mayStart(Job $job): bool
    {
        if ($this->started > 0 && $this->elapsed() + ($job->estimate ?? 0.0) > $this->seconds) {
            $this->ranOut = true;
            return false;
        }
        $this->started++;
        return true;
    }

    /** Whether a retry delay of $delay seconds still fits. */
    public function mayWait(float $delay): bool
    {
        if ($this->elapsed() + $delay <= $this->seconds) {
            return true;
        }
        $this->ranOut = true;
        return false;
    }

    /** Whether it refused a batch or a retry's wait: what was left is in the spool. */
    public function ranOut(): bool
    {
        return $this->ranOut;
    }
}
