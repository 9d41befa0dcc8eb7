<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The spool runner of the polyfill (`asyncbatch.runner = spool`, for hosts where
 * only cron can deliver): wherever the shutdown runner would deliver — a due batch in
 * the CLI, flush(), endRequest(), the end of the request — the queued items are
 * written to the spool instead, for `asyncbatch drain` to deliver. A request never
 * calls a callable and never reads the spool, so a page pays for a file write, not
 * for a delivery. Runtime hands over to it at those points.
 */
final class SpoolRunner
{
    public function __construct(private readonly Delivery $delivery)
    {
    }

    /**
     * Writes the queued items of the jobs to the spool, a segment per job; what the
     * spool refuses is dropped and counted (Delivery::spoolItems).
     *
     * @param array<string, Job> $jobs
     * @return int the items written
     */
    public function spoolQueues(array $jobs): int
    {
        $written = 0;
        foreach ($jobs as $job) {
            if ($job->queue !== []) {
                [$items, $encoded] = $job->take();
                $written += $this->delivery->spoolItems($job, $items, $encoded);
            }
        }
        return $written;
    }
}
