<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\HttpSink;
use AsyncBatch\UnknownJobException;

/**
 * The shutdown runner of the polyfill, as the request sees it: the job registry of
 * this request, where its shutdown function stands (Phase), what becomes of a
 * submitted item, and the notice of a pcntl_fork(). Delivering is Delivery's (see
 * "Delivery" in docs/internals.md). Under `asyncbatch.runner = spool` (for hosts
 * where only a cron `asyncbatch drain` delivers) each point where it would deliver
 * writes the queues to the spool instead: a request never calls a callable and
 * never reads the spool.
 *
 * PHP resets userland state at the end of each request, so unlike the extension the
 * counters here live for one request.
 */
final class Runtime
{
    /** @var array<string, Job> registered jobs, in registration order */
    public static array $jobs = [];
    /** Where the shutdown function stands. */
    public static Phase $phase = Phase::Idle;
    /** Number of deliveries running (a callable that submits does not deliver again). */
    public static int $delivering = 0;
    /** Whether submitItem() delivers due batches (CLI SAPI only). */
    public static bool $cli = PHP_SAPI === 'cli';
    /** Destroyed with the request's objects: see spoolLeftovers(). */
    private static ?ExitGuard $exitGuard = null;
    /** endRequest() was called: from then on due batches wait for the next one. */
    public static bool $endsMarked = false;
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

    /** The budget of delivery at shutdown, from its first run (a late run shares it). */
    private static ?Budget $budget = null;
    private static ?Delivery $delivery = null;
    /**
     * Whether asyncbatch.runner is `spool` (else the shutdown runner); chosen at the
     * first registration (`drain` overrides the setting before).
     */
    private static bool $spoolOnly = false;
    private static bool $runnerChosen = false;

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
        if (!self::$runnerChosen) {
            self::$runnerChosen = true;
            self::$spoolOnly = Settings::get()->runner === 'spool';
        }
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
            $job->take();
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
        if (self::$phase === Phase::Idle) {
            self::$phase = Phase::Armed;
            self::$exitGuard ??= new ExitGuard();
            register_shutdown_function([self::class, 'shutdown']);
        } elseif (self::$phase === Phase::Done) {
            self::$phase = Phase::Late;
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
     * batches (rule 5); then the spill of a full queue to the spool (rule 6). The
     * spool runner writes the queue to the spool in either case.
     */
    public static function afterQueue(Job $job): void
    {
        if (self::$spoolOnly) {
            self::delivery()->spoolQueues([$job]);
            return;
        }
        // The CLI delivers a due batch here, unless the application ends its
        // requests itself (endRequest()): a worker's request must not wait on a callable.
        if (self::$cli && self::$delivering === 0 && !self::$endsMarked) {
            $n = count($job->queue);
            $periodPassed = microtime(true) >= $job->dueAt;
            if ($n >= $job->batchSize || $periodPassed) {
                $take = $periodPassed ? $n : $n - $n % $job->batchSize;
                $items = array_slice($job->queue, 0, $take);
                $encoded = array_slice($job->encoded, 0, $take);
                $job->queue = array_slice($job->queue, $take);
                $job->encoded = array_slice($job->encoded, $take);
                if ($job->queue !== []) {
                    // The remainder was queued after the batches just taken.
                    $job->dueAt = microtime(true) + $job->callPeriod;
                }
                self::$delivering++;
                try {
                    self::delivery()->deliverNow($job, $items, $encoded);
                } finally {
                    self::$delivering--;
                }
            }
        }
        if (count($job->queue) >= $job->maxQueueSize) {
            self::delivery()->spoolQueues([$job]);
        }
    }

    /** An item submitted after delivery at shutdown: straight to the spool. */
    public static function late(Job $job, mixed $item, string $encoded): void
    {
        self::delivery()->spoolItems($job, [$item], [$encoded]);
        self::arm();
    }

    /**
     * flush(): spooled segments, then queued items, now, without a budget; returns
     * the items delivered. The spool runner writes the queued items to the spool and
     * returns how many it wrote.
     */
    public static function flush(?string $identifier): int
    {
        self::afterFork();
        $jobs = self::jobsNamed($identifier);
        if (self::$spoolOnly) {
            return self::delivery()->spoolQueues($jobs);
        }
        self::$delivering++;
        try {
            return self::delivery()->flush($jobs);
        } finally {
            self::$delivering--;
        }
    }

    /**
     * endRequest(): delivery as at shutdown (segments, then queues), with a budget
     * of its own, for a long-running worker whose requests do not end PHP's; the
     * client is not released (the framework has answered) and the request goes on.
     * The spool runner writes the queued items to the spool and delivers none (0).
     */
    public static function endRequest(): int
    {
        self::afterFork();
        self::$endsMarked = true;
        $jobs = self::$jobs;
        if ($jobs === []) {
            return 0;
        }
        if (self::$spoolOnly) {
            self::delivery()->spoolQueues($jobs);
            return 0;
        }
        self::arm();
        $delivery = self::delivery();
        self::$delivering++;
        try {
            return $delivery->atShutdown($jobs, $delivery->ready(), new Budget(Settings::get()->shutdownBudget));
        } finally {
            self::$delivering--;
        }
    }

    /**
     * The request's objects are being destroyed (ExitGuard): if the shutdown
     * function did not finish (an application's shutdown function called exit()
     * before it ran), the queues go to the spool.
     */
    public static function spoolLeftovers(): void
    {
        if (self::$phase === Phase::Done || self::$phase === Phase::Idle || self::$jobs === []) {
            return;
        }
        self::afterFork();
        try {
            self::delivery()->spoolQueues(self::$jobs);
        } catch (\Throwable $e) {
            Log::caught('the queues could not be spooled at exit', $e);
        }
    }

    /** The runner's shutdown function (see "Delivery", steps 2 to 4). */
    public static function shutdown(): void
    {
        self::afterFork();
        if (self::$phase === Phase::Armed) {
            // Run again after the shutdown functions the application registered
            // after our first use, so what they submit is delivered too.
            self::$phase = Phase::Deferred;
            register_shutdown_function([self::class, 'shutdown']);
            return;
        }
        if (self::$phase !== Phase::Deferred && self::$phase !== Phase::Late) {
            return;
        }
        self::$phase = Phase::Delivering;
        $settings = Settings::get();
        $jobs = self::$jobs;
        if (self::$spoolOnly) {
            // The spool runner never reads the spool: only the queues are pending.
            self::releaseClient(false);
            try {
                self::delivery()->spoolQueues($jobs);
            } finally {
                self::$phase = Phase::Done;
            }
            return;
        }
        $budget = self::$budget ??= new Budget($settings->shutdownBudget);
        $delivery = self::delivery();
        $names = $jobs === [] ? [] : $delivery->ready();
        self::releaseClient($names !== []);

        self::$delivering++;
        try {
            $delivery->atShutdown($jobs, $names, $budget);
            // What callables submitted meanwhile waits in the spool for the next request.
            $delivery->spoolQueues(self::$jobs);
        } finally {
            self::$delivering--;
            self::$phase = Phase::Done;
        }
    }

    /**
     * Lets a php-fpm client go before delivery (or the spool runner's writes), when
     * there is something to do: spooled segments ($segments) or queued items.
     */
    private static function releaseClient(bool $segments): void
    {
        if (($segments || self::anyQueued()) && Settings::get()->finishRequest && function_exists('fastcgi_finish_request')) {
            fastcgi_finish_request();
        }
    }

    /** Whether any job has items in memory. */
    private static function anyQueued(): bool
    {
        foreach (self::$jobs as $job) {
            if ($job->queue !== []) {
                return true;
            }
        }
        return false;
    }

    /**
     * `asyncbatch drain --polyfill`, after the bootstrap registered the jobs: every
     * spooled segment of the jobs (the journals of dead processes among them) and
     * what their callables queue meanwhile, delivered pass after pass until none is
     * left or $budget ran out, in batches with retries and the failure store as at
     * shutdown. What the budget leaves is in the spool, and nothing is left to the
     * shutdown function: it would deliver past the budget.
     *
     * @return int items delivered
     */
    public static function drain(Budget $budget): int
    {
        self::afterFork();
        $jobs = self::$jobs;
        $delivery = self::delivery();
        $delivered = 0;
        // A segment that could not be claimed (another reader has it) or emptied is
        // passed over in later passes: new ones are what a pass looks for.
        $seen = [];
        self::$delivering++;
        try {
            while (!$budget->ranOut()) {
                $names = [];
                foreach ($delivery->ready() as $name) {
                    if (!isset($seen[$name])) {
                        $seen[$name] = true;
                        $names[] = $name;
                    }
                }
                if ($names === [] && !self::anyQueued()) {
                    break;
                }
                $delivered += $delivery->atShutdown($jobs, $names, $budget);
            }
            $delivery->spoolQueues(self::$jobs);
        } finally {
            self::$delivering--;
            self::$phase = Phase::Done;
        }
        return $delivered;
    }

    /** retryFailed(): each stored batch of the jobs, oldest first, one call each. */
    public static function retryFailed(?string $identifier): int
    {
        self::afterFork();
        $jobs = self::jobsNamed($identifier);
        $replay = new Replay(self::delivery()->retry);
        self::$delivering++;
        try {
            return $replay->run($jobs);
        } finally {
            self::$delivering--;
        }
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

    /**
     * The job named (or every registered job for null).
     *
     * @return array<string, Job>
     * @throws UnknownJobException
     */
    private static function jobsNamed(?string $identifier): array
    {
        if ($identifier === null) {
            return self::$jobs;
        }
        return [$identifier => self::$jobs[$identifier] ?? throw self::unknownJob($identifier)];
    }

    /** Delivery, with this process's spool and failure store, made at first use. */
    private static function delivery(): Delivery
    {
        if (self::$delivery === null) {
            $s = Settings::get();
            $failureDir = $s->failureDir;
            $cap = $s->failureCapBytes;
            self::$delivery = new Delivery(
                new Spool($s->spoolDir),
                new Retry(static fn (): FailureStore => new FailureStore($failureDir, $cap)),
                static fn (string $identifier): ?Job => self::$jobs[$identifier] ?? null,
            );
        }
        return self::$delivery;
    }
}
