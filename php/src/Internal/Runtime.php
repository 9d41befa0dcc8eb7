<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\HttpSink;
use AsyncBatch\HttpSinkException;
use AsyncBatch\StorageException;
use AsyncBatch\UnknownJobException;

/**
 * The shutdown runner of the polyfill: the job registry of this request, delivery
 * in batches with retries and backoff, the failure store and the spool, and the
 * shutdown function that delivers after the response (see "Delivery" in
 * docs/internals.md).
 *
 * PHP resets userland state at the end of each request, so unlike the extension the
 * counters here live for one request.
 */
final class Runtime
{
    /** Nothing registered yet in this request. */
    private const IDLE = 0;
    /** Shutdown function registered, not run yet. */
    private const ARMED = 1;
    /** First run done: registered again to run after the application's shutdown functions. */
    private const DEFERRED = 2;
    /** Delivering at shutdown. */
    private const DELIVERING = 3;
    /** Delivered; later items go to the spool (this and LATE are the highest phases). */
    public const DONE = 4;
    /** Registered again after delivery, for items that arrived late. */
    private const LATE = 5;

    /** @var array<string, Job> registered jobs, in registration order */
    public static array $jobs = [];
    /** Where the shutdown function stands (one of the constants above). */
    public static int $phase = self::IDLE;
    /** Number of deliveries running (a callable that submits does not deliver again). */
    public static int $delivering = 0;
    /** Whether submitItem() delivers due batches (CLI SAPI only). */
    public static bool $cli = PHP_SAPI === 'cli';
    /** asyncbatch.max_item_size, copied here for submitItem(). */
    public static int $maxItemSize = 1048576;
    /**
     * Whether the state may be inherited over pcntl_fork() (the CLI, with pcntl):
     * then each entry point compares $pid with getmypid(). Set at the first
     * registration, which precedes any submit.
     */
    public static bool $watchFork = false;
    /** While $watchFork, the process this state belongs to (see afterFork()). */
    public static ?int $pid = null;

    private static ?Budget $budget = null;
    private static ?Spool $spool = null;
    private static ?FailureStore $failures = null;

    /**
     * Registers or replaces a job. An HttpSink's job keys are the job's config;
     * $config's keys win over them.
     */
    public static function register(string $identifier, callable $func, array $config): void
    {
        if (self::$pid === null) {
            self::$watchFork = self::$cli && function_exists('pcntl_fork');
        }
        self::afterFork();
        JobConfig::checkIdentifier($identifier);
        $base = $func instanceof HttpSink ? HttpSinkConfig::of($func)->job : null;
        $config = JobConfig::validate($identifier, $config, $base);
        self::$maxItemSize = Settings::get()->maxItemSize;
        $job = self::$jobs[$identifier] ??= new Job($identifier);
        $job->configure($func, $config);
        self::arm();
    }

    /**
     * Makes the state this process's, in the CLI, where a script may pcntl_fork():
     * at first use it records the pid; in a child of a fork it drops what it
     * inherited, which the parent delivers: the queued items and the journals of a
     * delivery under way (their handles closed, their files left to the parent).
     * The jobs stay registered, as they are in the child's copy of the script.
     * php-fpm forks its workers before any request, so only the CLI checks (a
     * getmypid() per submit).
     */
    public static function afterFork(): void
    {
        if (!self::$watchFork) {
            return;
        }
        $pid = getmypid();
        if ($pid === self::$pid) {
            return;
        }
        $inherited = self::$pid !== null;
        self::$pid = $pid;
        if (!$inherited) {
            return;
        }
        foreach (self::$jobs as $job) {
            $job->queue = [];
            $job->dueAt = 0.0;
        }
        Journal::forgetInherited();
    }

    /**
     * Registers the shutdown function on first use, and again when something
     * arrives after delivery. Registering it this early (rather than in a
     * destructor) is what makes it run at all on a fatal error.
     */
    public static function arm(): void
    {
        if (self::$phase === self::IDLE) {
            self::$phase = self::ARMED;
            register_shutdown_function([self::class, 'shutdown']);
        } elseif (self::$phase === self::DONE) {
            self::$phase = self::LATE;
            register_shutdown_function([self::class, 'shutdown']);
        }
    }

    public static function unknownJob(string $identifier): UnknownJobException
    {
        return new UnknownJobException(sprintf(
            "Unknown job '%s': register it with registerAsyncJob() first",
            str_replace("\0", '\0', $identifier),
        ));
    }

    /**
     * The rest of submitItem() once the item is queued, when the queue reached the
     * job's threshold or its oldest item is due: in the CLI, delivery of the due
     * batches (rule 5); then the spill of a full queue to the spool (rule 6).
     */
    public static function afterQueue(Job $job): void
    {
        if (self::$cli && self::$delivering === 0) {
            $n = count($job->queue);
            $periodPassed = microtime(true) >= $job->dueAt;
            if ($n >= $job->batchSize || $periodPassed) {
                $take = $periodPassed ? $n : $n - $n % $job->batchSize;
                $items = array_slice($job->queue, 0, $take);
                $job->queue = array_slice($job->queue, $take);
                if ($job->queue !== []) {
                    // The remainder was queued after the batches just taken.
                    $job->dueAt = microtime(true) + $job->callPeriod;
                }
                // On disk before the callable runs: an exit() or a fatal error in it
                // leaves them to the next reader, and this process never offers them
                // again (they left the queue).
                $journal = self::journal($job, $items);
                self::$delivering++;
                try {
                    $delivered = 0;
                    self::deliverJournaled($job, $items, $journal, null, $delivered);
                } finally {
                    self::$delivering--;
                }
            }
        }
        if (count($job->queue) >= $job->maxQueueSize) {
            $items = $job->queue;
            $job->queue = [];
            self::spoolItems($job, $items);
        }
    }

    /** An item submitted after delivery at shutdown: straight to the spool. */
    public static function late(Job $job, mixed $item): void
    {
        self::spoolItems($job, [$item]);
        self::arm();
    }

    /** flush(): spooled segments, then queued items, now, without a budget. */
    public static function flush(?string $identifier): int
    {
        self::afterFork();
        if ($identifier === null) {
            $jobs = self::$jobs;
        } else {
            $jobs = [$identifier => self::$jobs[$identifier] ?? throw self::unknownJob($identifier)];
        }
        $names = $jobs === [] ? [] : self::spool()->ready();
        $journaled = self::journalQueues($jobs);
        $delivered = 0;
        self::$delivering++;
        try {
            foreach ($jobs as $id => $job) {
                self::deliverSegments(self::segmentsOf($job, $names), null, $delivered);
                if (isset($journaled[$id])) {
                    self::deliverJournaled($job, $journaled[$id][0], $journaled[$id][1], null, $delivered);
                }
            }
        } finally {
            self::$delivering--;
        }
        return $delivered;
    }

    /** The runner's shutdown function (see "Delivery", steps 2 to 4). */
    public static function shutdown(): void
    {
        self::afterFork();
        if (self::$phase === self::ARMED) {
            // Run again after the shutdown functions the application registered
            // after our first use, so what they submit is delivered too.
            self::$phase = self::DEFERRED;
            register_shutdown_function([self::class, 'shutdown']);
            return;
        }
        if (self::$phase !== self::DEFERRED && self::$phase !== self::LATE) {
            return;
        }
        self::$phase = self::DELIVERING;
        $settings = Settings::get();
        $budget = self::$budget ??= new Budget($settings->shutdownBudget);
        $jobs = self::$jobs;
        $names = $jobs === [] ? [] : self::spool()->ready();

        $pending = $names !== [];
        foreach ($jobs as $job) {
            $pending = $pending || $job->queue !== [];
        }
        if ($pending && $settings->finishRequest && function_exists('fastcgi_finish_request')) {
            fastcgi_finish_request();
        }

        // Every queued item is on disk before the first callable runs.
        $journaled = self::journalQueues($jobs);
        self::$delivering++;
        try {
            $stopped = false;
            $delivered = 0;
            foreach ($jobs as $id => $job) {
                if (!$stopped) {
                    $stopped = !self::deliverSegments(self::segmentsOf($job, $names), $budget, $delivered);
                }
                $runs = isset($journaled[$id]) ? [$journaled[$id]] : [];
                if ($job->queue !== []) {
                    // Submitted by the callables of the jobs before it, in this run.
                    $items = $job->queue;
                    $job->queue = [];
                    $runs[] = [$items, $stopped ? null : self::journal($job, $items)];
                }
                foreach ($runs as [$items, $journal]) {
                    if ($stopped) {
                        self::spoolRest($job, $items, $journal);
                    } else {
                        $stopped = !self::deliverJournaled($job, $items, $journal, $budget, $delivered);
                    }
                }
            }
            // What callables submitted meanwhile waits in the spool for the next request.
            foreach (self::$jobs as $job) {
                if ($job->queue !== []) {
                    $items = $job->queue;
                    $job->queue = [];
                    self::spoolItems($job, $items);
                }
            }
        } finally {
            self::$delivering--;
            self::$phase = self::DONE;
        }
    }

    /** retryFailed(): each stored batch of the jobs, oldest first, one call each. */
    public static function retryFailed(?string $identifier): int
    {
        self::afterFork();
        if ($identifier === null) {
            $jobs = self::$jobs;
        } else {
            $jobs = [$identifier => self::$jobs[$identifier] ?? throw self::unknownJob($identifier)];
        }
        $store = self::failureStore();
        if ($jobs === [] || (!file_exists($store->dir) && !is_link($store->dir))) {
            return 0;
        }
        $why = Fs::checkDir($store->dir, 'failure');
        if ($why !== null) {
            throw new StorageException('asyncbatch: ' . $why);
        }
        $byKey = [];
        foreach ($jobs as $job) {
            $byKey[$job->key()] = true;
        }
        $delivered = 0;
        self::$delivering++;
        try {
            foreach ($store->names() as $name) {
                if (!isset($byKey[Fs::keyOf($name)])) {
                    continue;
                }
                $path = $store->dir . '/' . $name;
                $fh = Fs::claim($path);
                if ($fh === null) {
                    continue;
                }
                try {
                    $body = FailureStore::decode((string) stream_get_contents($fh));
                } catch (\UnexpectedValueException $e) {
                    Log::warn(sprintf('skipping corrupt failure file %s: %s', $path, $e->getMessage()));
                    fclose($fh);
                    continue;
                }
                $job = $jobs[$body['job']] ?? null;
                if ($job === null) {
                    fclose($fh);
                    continue;
                }
                $items = $body['items'];
                $error = self::callOnce($job, $items);
                if ($error === null) {
                    @unlink($path);
                    $delivered += count($items);
                    $job->delivered += count($items);
                    $job->batches++;
                } else {
                    $body['attempts']++;
                    $body['lastError'] = $error;
                    $body['failedAt'] = microtime(true);
                    $why = $store->rewrite($name, $body);
                    if ($why !== null) {
                        Log::line(sprintf('cannot update failure file %s: %s', $path, $why));
                    }
                }
                fclose($fh);
            }
        } finally {
            self::$delivering--;
        }
        return $delivered;
    }

    /** stats(): counters per job, in registration order. */
    public static function stats(): array
    {
        self::afterFork();
        $out = [];
        foreach (self::$jobs as $id => $job) {
            $out[$id] = $job->stats();
        }
        return $out;
    }

    private static function spool(): Spool
    {
        return self::$spool ??= new Spool(Settings::get()->spoolDir);
    }

    private static function failureStore(): FailureStore
    {
        $s = Settings::get();
        return self::$failures ??= new FailureStore($s->failureDir, $s->failureCapBytes);
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
    private static function deliverSegments(array $names, ?Budget $budget, int &$delivered): bool
    {
        $spool = self::spool();
        foreach ($names as $name) {
            $fh = $spool->claim($name);
            if ($fh === null) {
                continue;
            }
            [$frames, $skipped, $badHeader] = Spool::parse((string) stream_get_contents($fh));
            // Items an earlier reader recorded as done.
            $done = $spool->doneOf($name);
            $frames = Spool::skipItems($frames, $done);
            $byJob = [];
            foreach ($frames as [$id, $items]) {
                $byJob[$id] = isset($byJob[$id]) ? array_merge($byJob[$id], $items) : $items;
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
            foreach ($byJob as $id => $items) {
                $id = (string) $id;
                $job = self::$jobs[$id] ?? null;
                if ($job === null) {
                    $why = $spool->write($id, $items);
                    if ($why !== null) {
                        $keep = true;
                        self::cannotRespool($why, count($items), $id, $name);
                    }
                    continue;
                }
                $rest = $stopped ? $items : self::deliverItems($job, $items, $budget, $delivered, $record);
                if ($rest !== []) {
                    $stopped = true;
                    $why = $spool->write($id, $rest);
                    if ($why !== null) {
                        $keep = true;
                        self::cannotRespool($why, count($rest), $id, $name);
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
     * Delivers items in batches of the job's size.
     *
     * @param list<mixed> $items
     * @param \Closure(int): void|null $progress called after each batch whose outcome
     *        is final (delivered, stored or dropped) while items remain, with the
     *        number of items done so far
     * @return list<mixed> the items left undelivered because the budget ran out
     */
    private static function deliverItems(
        Job $job,
        array $items,
        ?Budget $budget,
        int &$delivered,
        ?\Closure $progress = null,
    ): array {
        $size = $job->batchSize;
        $n = count($items);
        for ($off = 0; $off < $n; $off += $size) {
            $batch = $n <= $size ? $items : array_slice($items, $off, $size);
            if ($budget !== null && !$budget->mayStart($job)) {
                return array_slice($items, $off);
            }
            $ok = self::call($job, $batch, $budget);
            if ($ok === null) {
                return array_slice($items, $off);
            }
            if ($ok) {
                $delivered += count($batch);
            }
            if ($progress !== null && $off + $size < $n) {
                $progress($off + $size);
            }
        }
        return [];
    }

    /**
     * Takes the queued items of each job and writes them to a journal.
     *
     * @param array<string, Job> $jobs
     * @return array<string, array{0: list<mixed>, 1: ?Journal}> by job, the items
     *         taken and their journal (null when it could not be written)
     */
    private static function journalQueues(array $jobs): array
    {
        $out = [];
        foreach ($jobs as $id => $job) {
            if ($job->queue !== []) {
                $items = $job->queue;
                $job->queue = [];
                $out[$id] = [$items, self::journal($job, $items)];
            }
        }
        return $out;
    }

    /**
     * Writes items taken from a job's queue to a journal. When that fails they are
     * delivered from memory all the same, after one warning per reason.
     *
     * @param list<mixed> $items
     */
    private static function journal(Job $job, array $items): ?Journal
    {
        $journal = self::spool()->journal($job->identifier, $items);
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
    private static function deliverJournaled(
        Job $job,
        array $items,
        ?Journal $journal,
        ?Budget $budget,
        int &$delivered,
    ): bool {
        $progress = $journal === null ? null : static function (int $done) use ($journal): void {
            $journal->done($done);
        };
        $rest = self::deliverItems($job, $items, $budget, $delivered, $progress);
        if ($rest !== []) {
            self::spoolRest($job, $rest, $journal);
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
     * @param list<mixed> $items
     */
    private static function spoolRest(Job $job, array $items, ?Journal $journal): void
    {
        if ($journal === null) {
            self::spoolItems($job, $items);
            return;
        }
        $why = self::spool()->write($job->identifier, $items);
        $job->spooled += count($items);
        if ($why === null) {
            $journal->remove();
        } else {
            $journal->keep();
        }
    }

    /**
     * One batch: calls, retries with backoff, and the failure store at the end.
     *
     * @param list<mixed> $batch
     * @return bool|null true delivered, false stored as failed (or dropped), null
     *                   stopped by the budget before a retry
     */
    private static function call(Job $job, array $batch, ?Budget $budget): ?bool
    {
        $n = count($batch);
        $firstAt = null;
        for ($attempt = 1; ; $attempt++) {
            $firstAt ??= microtime(true);
            $error = self::callOnce($job, $batch, $http);
            if ($error === null) {
                $job->delivered += $n;
                $job->batches++;
                return true;
            }
            $failedAt = microtime(true);
            // An HTTP status that says the request itself is wrong: retrying cannot help.
            $permanent = $http !== null && !$http->isRetryable();
            if ($permanent || $attempt > $job->maxRetries) {
                $job->failedBatches++;
                [$path, $why] = self::failureStore()
                    ->store($job->identifier, $batch, $attempt, $error, $firstAt, $failedAt);
                if ($path !== null) {
                    $job->persisted += $n;
                    if ($job->func instanceof HttpSink) {
                        $job->http->failures++;
                    }
                    Log::line(sprintf(
                        "job '%s': a batch of %s failed %d times (%s); stored in %s",
                        $job->identifier,
                        Log::items($n),
                        $attempt,
                        $error,
                        $path,
                    ));
                } else {
                    $job->dropped += $n;
                    $job->lastError = $why;
                    error_log($why);
                }
                return false;
            }
            // The server's Retry-After is a floor under the backoff.
            $delay = max(self::backoff($job->retryDelay, $attempt), $http?->getRetryAfter() ?? 0.0);
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
     * Calls the job's callable once. An HttpSinkException's message is the error as
     * it is (`HTTP 503 ...`); other exceptions are prefixed with their class.
     *
     * @param list<mixed> $batch
     * @param HttpSinkException|null $http set to the exception when the call threw one
     * @return string|null why the call failed, or null on success
     */
    private static function callOnce(Job $job, array $batch, ?HttpSinkException &$http = null): ?string
    {
        $job->lastFlushAt = microtime(true);
        $http = null;
        $t = hrtime(true);
        HttpPost::$stats = $job->func instanceof HttpSink ? $job->http : null;
        try {
            $error = ($job->func)($batch) === false ? 'callable returned false' : null;
        } catch (HttpSinkException $e) {
            $http = $e;
            $error = $e->getMessage();
        } catch (\Throwable $e) {
            $error = get_class($e) . ': ' . $e->getMessage();
        } finally {
            HttpPost::$stats = null;
        }
        $job->measured((hrtime(true) - $t) / 1e9);
        if ($error !== null) {
            $job->lastError = $error;
        }
        return $error;
    }

    /** Delay before retry $k (1-based): retryDelay * 2^(k-1), jittered by ±25%, at most 30 s. */
    public static function backoff(float $base, int $k): float
    {
        $jitter = 0.75 + 0.5 * mt_rand() / mt_getrandmax();
        return min(30.0, $base * 2 ** ($k - 1) * $jitter);
    }

    /**
     * Writes items of a job from memory to the spool; on failure they are dropped
     * (counted, and one warning per reason).
     *
     * @param list<mixed> $items
     */
    private static function spoolItems(Job $job, array $items): void
    {
        $why = self::spool()->write($job->identifier, $items);
        if ($why === null) {
            $job->spooled += count($items);
            return;
        }
        $job->dropped += count($items);
        $message = sprintf(
            "cannot write to the spool: %s; %d items for job '%s' dropped",
            $why,
            count($items),
            $job->identifier,
        );
        // As the extension: stats() says why items were dropped.
        $job->lastError = 'asyncbatch: ' . $message;
        Log::warnOnce('write:' . self::reason($why), $message);
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
