<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Budget;
use AsyncBatch\Internal\DaemonOptions;
use AsyncBatch\Internal\Daemon;
use AsyncBatch\Internal\FloatText;
use AsyncBatch\Internal\Fs;
use AsyncBatch\Internal\Runtime;
use AsyncBatch\Internal\Settings;
use AsyncBatch\Internal\Spool;
use AsyncBatch\Internal\UsageError;

/**
 * `drain --bootstrap FILE [--max-time SECONDS]`: delivers what waits for the
 * bootstrap's jobs, once, under `{spool_dir}/drain.lock` (one drain at a time: the
 * next exits 0). On the extension its Daemon does it (the queue too); without it,
 * with `--polyfill`, the polyfill's Runtime delivers the spool. Exit status 1 when a
 * batch ended in the failure store or items were dropped.
 */
final class DrainCommand
{
    /** What the extension logs as well (core/src/daemon/mod.rs, src/daemon.rs). */
    private const NO_JOB = 'asyncbatch drain: the bootstrap registered no job (call registerAsyncJob() in it)';
    private const OUT_OF_TIME = 'asyncbatch drain: --max-time %s s reached; %d segments wait for the next drain';
    private const UNKNOWN_JOB = "asyncbatch drain: %d segments for job key '%s' left in the spool: the bootstrap registers no such job";

    /** Runs `drain`; returns the exit status. */
    public static function run(Arguments $args): int
    {
        $bootstrap = Bootstrap::option($args);
        $maxTime = self::maxTime($args->value('max-time'));
        // As for failed:*, --polyfill applies only where the extension is not loaded.
        $polyfill = !Extension::loaded();
        if ($polyfill) {
            Extension::requireApi($args->polyfill, 'drain');
        } else {
            Extension::requireDaemon('drain');
        }
        $bootstrap = (string) realpath(Bootstrap::existing($bootstrap));
        FailureDir::of($args);
        return $polyfill ? self::withPolyfill($bootstrap, $maxTime) : self::withExtension($bootstrap, $maxTime);
    }

    /**
     * `--max-time`, checked as the extension checks it (DaemonOptions, the PHP copy);
     * null when not given.
     *
     * @throws UsageError
     */
    private static function maxTime(?string $value): ?float
    {
        try {
            return $value === null ? null : DaemonOptions::maxTime($value);
        } catch (\ValueError $e) {
            throw new UsageError($e->getMessage());
        }
    }

    private static function withExtension(string $bootstrap, ?float $maxTime): int
    {
        $pid = Daemon::lock('drain');
        if ($pid !== null) {
            return self::anotherDrain($pid);
        }
        Bootstrap::load($bootstrap);
        // Without a time, no argument: a build from before --max-time takes none.
        return $maxTime === null ? Daemon::drain() : Daemon::drain($maxTime);
    }

    private static function withPolyfill(string $bootstrap, ?float $maxTime): int
    {
        $spoolDir = Settings::get()->spoolDir;
        $why = Fs::ensureDir($spoolDir, 'spool');
        if ($why !== null) {
            throw new \RuntimeException($why);
        }
        $pid = ProcessLock::take($spoolDir, 'drain');
        if ($pid !== null) {
            return self::anotherDrain($pid);
        }
        // This process delivers, whatever runner php.ini gives the pages (spool, most
        // likely): the shutdown runner, chosen before the bootstrap registers a job.
        $settings = clone Settings::get();
        $settings->runner = 'shutdown';
        Settings::override($settings);
        Bootstrap::load($bootstrap);
        if (Runtime::$jobs === []) {
            error_log(self::NO_JOB);
            return 1;
        }

        $budget = new Budget($maxTime ?? INF);
        Runtime::drain($budget);
        if ($maxTime !== null && $budget->ranOut()) {
            $left = count((new Spool($spoolDir))->ready());
            error_log(sprintf(self::OUT_OF_TIME, FloatText::of($maxTime), $left));
        }

        $known = [];
        $failed = 0;
        foreach (Runtime::$jobs as $job) {
            $known[$job->key()] = true;
            $failed += $job->failedBatches + $job->dropped;
        }
        foreach (self::unknownSegments($spoolDir, $known) as $key => $n) {
            error_log(sprintf(self::UNKNOWN_JOB, $n, $key));
        }
        return $failed > 0 ? 1 : 0;
    }

    private static function anotherDrain(int $pid): int
    {
        fwrite(STDERR, sprintf("asyncbatch: another drain is running (pid %d)\n", $pid));
        return 0;
    }

    /**
     * `.seg` files per job key that is not among $known (the mixed segments aside),
     * by key in byte order, as the extension counts them.
     *
     * @param array<string, true> $known
     * @return array<string, int>
     */
    private static function unknownSegments(string $dir, array $known): array
    {
        $unknown = [];
        foreach (@scandir($dir, SCANDIR_SORT_NONE) ?: [] as $name) {
            if (!str_ends_with($name, '.seg')) {
                continue;
            }
            $key = Fs::keyOf($name);
            if ($key !== '~' && !isset($known[$key])) {
                $key = Format::utf8Lossy($key);
                $unknown[$key] = ($unknown[$key] ?? 0) + 1;
            }
        }
        ksort($unknown, SORT_STRING);
        return $unknown;
    }
}
