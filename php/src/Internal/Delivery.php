<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

// Imported so that the compiler turns them into opcodes: they run for every item.
use function count;

/**
 * Delivery of the items the runtime hands over: spooled segments first, then items
 * taken from memory, which are written to a journal before any callable sees them
 * (see Journal); in batches of the job's size, each through Retry; and, what is not
 * delivered now (the budget ran out, a job not registered here), written to the
 * spool for a later reader ("Delivery (shutdown runner)" and "The journal" in
 * docs/internals.md).
 *
 * It does not decide when to deliver, nor which jobs are registered: the runtime
 * does, and looks jobs up for it.
 */
final class Delivery
{
    /** @var \Closure(string): ?Job the job registered under an identifier now */
    private \Closure $registered;

    /**
     * @param \Closure(string): ?Job $registered looks up a registered job (a callable
     *        may register one while a segment is being delivered)
     */
    public function __construct(
        private readonly Spool $spool,
        public readonly Retry $retry,
        \Closure $registered,
    ) {
        $this->registered = $registered;
    }

    /** @return list<string> the spool's segments ready to be read, oldest first */
    public function ready(): array
    {
        return $this->spool->ready();
    }

    /**
     * flush(): the jobs' spooled segments, then their queued items, now, without a
     * budget. Items their callables submit meanwhile stay queued.
     *
     * @param array<string, Job> $jobs
     * @return int items delivered
     */
    public function flush(array $jobs): int
    {
        $names = $jobs === [] ? [] : $this->spool->ready();
        $journaled = $this->journalQueues($jobs);
        $delivered = 0;
        foreach ($jobs as $id => $job) {
            $this->deliverSegments(self::segmentsOf($job, $names), null, $delivered);
            if (isset($journaled[$id])) {
                $this->deliverJournaled($job, $journaled[$id][0], $journaled[$id][1], null, $delivered);
            }
        }
        return $delivered;
    }

    /**
     * Delivery at shutdown ("Delivery", step 3): every queued item journaled first;
     * then for each job, in registration order, its segments among $names, its
     * journaled items, then what callables of earlier jobs submitted to it meanwhile,
     * until the budget stops delivery; what is left is spooled.
     *
     * @param array<string, Job> $jobs
     * @param list<string> $names the spool's ready segments
     * @return int items delivered
     */
    public function atShutdown(array $jobs, array $names, Budget $budget): int
    {
        // Every queued item is on disk before the first callable runs.
        $journaled = $this->journalQueues($jobs);
        $stopped = false;
        $delivered = 0;
        foreach ($jobs as $id => $job) {
            if (!$stopped) {
                $stopped = !$this->deliverSegments(self::segmentsOf($job, $names), $budget, $delivered);
            }
            $runs = isset($journaled[$id]) ? [$journaled[$id]] : [];
            if ($job->queue !== []) {
                // Submitted by the callables of the jobs before it, in this run.
                [$items, $encoded] = $job->take();
                $runs[] = [$items, $stopped ? null : $this->journal($job, $items, $encoded), $encoded];
            }
            foreach ($runs as [$items, $journal, $encoded]) {
                if ($stopped) {
                    $this->spoolRest($job, [[$items, null, $encoded]], $journal);
                } else {
                    $stopped = !$this->deliverJournaled($job, $items, $journal, $budget, $delivered);
                }
            }
        }

        return $delivered;
    }

    /**
     * Delivers items just taken from a job's queue (a due batch in the CLI): journaled
     * first, so that an exit() or a fatal error in the callable leaves them to the next
     * reader (this process never offers them again: they left the queue).
     *
     * @param list<mixed> $items
     * @param list<string> $encoded their encodings
     */
    public function deliverNow(Job $job, array $items, array $encoded): void
    {
        $journal = $this->journal($job, $items, $encoded);
        $delivered = 0;
        $this->deliverJournaled($job, $items, $journal, null, $delivered);
    }

    /**
     * Writes what the jobs queue to the spool, a segment per job (spoolItems()).
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
                $written += $this->spoolItems($job, $items, $encoded);
            }
        }
        return $written;
    }

    /**
     * Writes items of a job from memory to the spool; on failure they are dropped
     * (counted, and one warning per reason).
     *
     * @param list<mixed> $items
     * @param list<string>|null $encoded their encodings, when made already
     * @return int the items written (0 when they were dropped)
     */
    public function spoolItems(Job $job, array $items, ?array $encoded = null): int
    {
        return $this->spoolRuns($job, [[$items, null, $encoded]]);
    }

    /**
     * Writes runs of items of a job from memory to the spool, as spoolItems().
     *
     * @param list<array{0: list<mixed>, 1: ?string, 2?: ?list<string>}> $runs
     * @return int the items written (0 when they were dropped)
     */
    private function spoolRuns(Job $job, array $runs): int
    {
        $n = self::count($runs);
        $why = $this->spool->writeRuns($job->identifier, $runs);
        if ($why === null) {
            $job->spooled += $n;
            return $n;
        }
        $job->dropped += $n;
        $message = sprintf(
            "cannot write to the spool: %s; %d items for job '%s' dropped",
            $why,
            $n,
            $job->identifier,
        );
        // As the extension: stats() says why items were dropped.
        $job->lastError = 'asyncbatch: ' . $message;
        Log::warnOnce('write:' . self::reason($why), $message);
        return 0;
    }

    /**
     * The ready segments that may hold items of $job: its own and multi-job ones.
     *
     * @param list<string> $names
     * @return list<string>
     */
    private static function segmentsOf(Job $job, array $names): array
    {
        $key = $job->key();
        $out = [];
        foreach ($names as $name) {
            $k = Fs::keyOf($name);
            if ($k === $key || $k === '~') {
                $out[] = $name;
            }
        }
        return $out;
    }

    /**
     * Delivers spooled segments, oldest first. Frames of jobs not registered here
     * are written to a new segment of their own.
     *
     * @param list<string> $names
     * @return bool false when the budget stopped delivery
     */
    private function deliverSegments(array $names, ?Budget $budget, int &$delivered): bool
    {
        $spool = $this->spool;
        foreach ($names as $name) {
            $fh = $spool->claim($name);
            if ($fh === null) {
                continue;
            }
            [$frames, $skipped, $badHeader] = Spool::parse((string) stream_get_contents($fh));
            // Items an earlier reader recorded as done.
            $done = $spool->doneOf($name);
            $frames = Spool::skipItems($frames, $done);
            // By job, runs of items: the frames without a batch id merged, each one
            // with an id a run of its own (delivered as that one batch).
            $byJob = [];
            foreach ($frames as [$id, $items, $batchId]) {
                $runs = &$byJob[$id];
                $last = $runs === null ? -1 : count($runs) - 1;
                if ($batchId === null && $last >= 0 && $runs[$last][1] === null) {
                    $runs[$last][0] = array_merge($runs[$last][0], $items);
                } else {
                    $runs[] = [$items, $batchId];
                }
                unset($runs);
            }
            // The items of a segment of one job are delivered in its order: progress
            // can be recorded, so that a reader killed mid-segment leaves only the
            // batch in flight to be delivered again.
            $record = null;
            $progress = null;
            if (count($byJob) === 1) {
                $progress = new Progress($spool->dir . '/' . $name . '.done');
                $record = static function (int $n) use ($progress, $done): void {
                    $progress->record($done + $n);
                };
            }
            $keep = false;
            $stopped = false;
            foreach ($byJob as $id => $runs) {
                $id = (string) $id;
                $job = ($this->registered)($id);
                if ($job === null) {
                    $why = $spool->writeRuns($id, $runs);
                    if ($why !== null) {
                        $keep = true;
                        self::cannotRespool($why, self::count($runs), $id, $name);
                    }
                    continue;
                }
                $rest = $stopped ? $runs : $this->deliverItems($job, $runs, $budget, $delivered, $record);
                if ($rest !== []) {
                    $stopped = true;
                    $why = $spool->writeRuns($id, $rest);
                    if ($why !== null) {
                        $keep = true;
                        self::cannotRespool($why, self::count($rest), $id, $name);
                    }
                }
            }
            $progress?->close();
            if ($keep) {
                $spool->release($fh);
            } else {
                $spool->finish($fh, $name, $skipped, $badHeader);
            }
            if ($stopped) {
                return false;
            }
        }
        return true;
    }

    /**
     * Delivers runs of items: a run with a batch id (a batch called before, read back
     * from the spool) as that one batch, with that id; the others in batches of the
     * job's size, each given a new id as it is cut.
     *
     * @param list<array{0: list<mixed>, 1: ?string}> $runs
     * @param \Closure(int): void|null $progress called after each batch whose outcome
     *        is final (delivered, stored or dropped) while items remain, with the
     *        number of items done so far
     * @return list<array{0: list<mixed>, 1: ?string}> the runs left undelivered because
     *         the budget ran out: a batch stopped after it was called keeps its id
     */
    private function deliverItems(
        Job $job,
        array $runs,
        ?Budget $budget,
        int &$delivered,
        ?\Closure $progress = null,
    ): array {
        $total = self::count($runs);
        $done = 0;
        foreach ($runs as $r => [$items, $batchId]) {
            $n = count($items);
            $size = $batchId === null ? $job->batchSize : $n;
            for ($off = 0; $off < $n; $off += $size) {
                $batch = $n <= $size ? $items : array_slice($items, $off, $size);
                if ($budget !== null && !$budget->mayStart($job)) {
                    return self::rest($runs, $r, $off, null);
                }
                $id = $batchId ?? BatchId::new();
                $ok = $this->retry->deliverBatch($job, $batch, $id, $budget);
                if ($ok === null) {
                    return self::rest($runs, $r, $off, [$batch, $id]);
                }
                $delivered += $ok;
                $done += count($batch);
                if ($progress !== null && $done < $total) {
                    $progress($done);
                }
            }
        }
        return [];
    }

    /**
     * What is left of runs from item $off of run $r on; $called is the batch at that
     * point when it was called (it keeps its id), null when it was not.
     *
     * @param list<array{0: list<mixed>, 1: ?string}> $runs
     * @param array{0: list<mixed>, 1: string}|null $called
     * @return list<array{0: list<mixed>, 1: ?string}>
     */
    private static function rest(array $runs, int $r, int $off, ?array $called): array
    {
        [$items, $batchId] = $runs[$r];
        $out = [];
        if ($called !== null) {
            $out[] = $called;
            $off += count($called[0]);
        }
        if ($off < count($items)) {
            $out[] = [$off === 0 ? $items : array_slice($items, $off), $batchId];
        }
        return array_merge($out, array_slice($runs, $r + 1));
    }

    /**
     * Items in runs.
     *
     * @param list<array{0: list<mixed>, 1: ?string}> $runs
     */
    private static function count(array $runs): int
    {
        $n = 0;
        foreach ($runs as [$items]) {
            $n += count($items);
        }
        return $n;
    }

    /**
     * Takes the queued items of each job and writes them to a journal.
     *
     * @param array<string, Job> $jobs
     * @return array<string, array{0: list<mixed>, 1: ?Journal, 2: list<string>}> by
     *         job, the items taken, their journal (null when it could not be written)
     *         and their encodings
     */
    private function journalQueues(array $jobs): array
    {
        $out = [];
        foreach ($jobs as $id => $job) {
            if ($job->queue !== []) {
                [$items, $encoded] = $job->take();
                $out[$id] = [$items, $this->journal($job, $items, $encoded), $encoded];
            }
        }
        return $out;
    }

    /**
     * Writes items taken from a job's queue to a journal. When that fails they are
     * delivered from memory all the same, after one warning per reason.
     *
     * @param list<mixed> $items
     * @param list<string> $encoded their encodings
     */
    private function journal(Job $job, array $items, array $encoded): ?Journal
    {
        $journal = $this->spool->journal($job->identifier, $items, $encoded);
        if ($journal instanceof Journal) {
            return $journal;
        }
        // A slot of its own: it must not silence the warning of a later drop.
        Log::warnOnce('journal:' . self::reason($journal), sprintf(
            "cannot write to the spool: %s; job '%s' is delivered without its journal",
            $journal,
            $job->identifier,
        ));
        return null;
    }

    /**
     * Delivers journaled items, recording progress in the journal, and removes it
     * when they are all done. What the budget leaves goes to a regular segment.
     *
     * @param list<mixed> $items
     * @return bool false when the budget stopped delivery
     */
    private function deliverJournaled(
        Job $job,
        array $items,
        ?Journal $journal,
        ?Budget $budget,
        int &$delivered,
    ): bool {
        $progress = $journal === null ? null : static function (int $done) use ($journal): void {
            $journal->done($done);
        };
        $rest = $this->deliverItems($job, [[$items, null]], $budget, $delivered, $progress);
        if ($rest !== []) {
            $this->spoolRest($job, $rest, $journal);
            return false;
        }
        $journal?->remove();
        return true;
    }

    /**
     * Writes journaled items that will not be delivered now to a regular segment,
     * then removes the journal. If the segment cannot be written the journal stays
     * on disk, where the items still are, for a later reader.
     *
     * @param list<array{0: list<mixed>, 1: ?string, 2?: ?list<string>}> $runs
     */
    private function spoolRest(Job $job, array $runs, ?Journal $journal): void
    {
        if ($journal === null) {
            $this->spoolRuns($job, $runs);
            return;
        }
        $why = $this->spool->writeRuns($job->identifier, $runs);
        $job->spooled += self::count($runs);
        if ($why === null) {
            $journal->remove();
        } else {
            $journal->keep();
        }
    }

    /** Items of a claimed segment that could not be written again stay in it. */
    private static function cannotRespool(string $why, int $n, string $identifier, string $segment): void
    {
        Log::warnOnce(
            'respool:' . self::reason($why),
            sprintf("cannot write to the spool: %s; %d items for job '%s' left in %s", $why, $n, $identifier, $segment),
        );
    }

    /**
     * A storage failure's reason as the key of a warning given once: without the
     * byte counts of PHP's messages (`Write of 70 bytes failed with errno=28 ...`),
     * which change with every write.
     */
    private static function reason(string $why): string
    {
        return preg_replace('/\b\d+ bytes\b/', 'N bytes', $why) ?? $why;
    }
}
