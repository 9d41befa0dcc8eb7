<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Daemon;
use AsyncBatch\Internal\DaemonOptions;
use AsyncBatch\Internal\Fs;
use AsyncBatch\Internal\UsageError;

/**
 * `daemon` and `consume`: the extension's daemon runner (AsyncBatch\Internal\Daemon).
 * The options are checked before anything runs, also without the extension, so
 * that a bad one is a usage error everywhere; then the extension is required.
 * (`drain` is DrainCommand's: it also runs on the polyfill.)
 */
final class DaemonCommands
{
    /** Runs `daemon` or `consume`; returns the exit status. */
    public static function run(Arguments $args): int
    {
        $bootstrap = Bootstrap::option($args);
        $options = self::options($args);
        $log = $args->value('log');
        if ($log === '') {
            throw new UsageError("option '--log' needs a file name");
        }
        if ($log !== null && $log[0] !== '/' && ($cwd = getcwd()) !== false) {
            $log = $cwd . '/' . $log; // the same file whatever directory a process runs in
        }

        Extension::requireDaemon($args->command);
        $bootstrap = (string) realpath(Bootstrap::existing($bootstrap));

        if ($log !== null) {
            $fh = @fopen($log, 'ab');
            if ($fh === false) {
                throw new \RuntimeException(sprintf(
                    'cannot write to the log file %s: %s',
                    $log,
                    Fs::why(error_get_last()['message'] ?? 'unknown error'),
                ));
            }
            fclose($fh);
            // Every process of the daemon logs there: errors, warnings, error_log().
            ini_set('error_log', $log);
            ini_set('log_errors', '1');
        }

        $r = Daemon::supervise(['bootstrap' => $bootstrap, 'log' => $log, 'command' => $args->command] + $options);
        if (($r['role'] ?? null) !== 'worker') {
            return (int) ($r['exitCode'] ?? 1);
        }
        // A new worker process: load the application's jobs, then deliver.
        Bootstrap::load($bootstrap);
        return Daemon::work();
    }

    /**
     * `--workers`, `--stop-timeout`, `--metrics` as typed and the flag
     * `--metrics-public` as `'1'` (only those given), checked where they are
     * declared: by the extension (core), or without it by the PHP copy of that
     * declaration.
     *
     * @return array{workers?: string, stopTimeout?: string, metrics?: string, metricsPublic?: string}
     * @throws UsageError
     */
    private static function options(Arguments $args): array
    {
        $options = [];
        foreach (['workers' => 'workers', 'stopTimeout' => 'stop-timeout', 'metrics' => 'metrics'] as $key => $name) {
            $value = $args->value($name);
            if ($value !== null) {
                $options[$key] = $value;
            }
        }
        if ($args->has('metrics-public')) {
            $options['metricsPublic'] = '1';
        }
        // Redis is the extension's alone: its options are checked by it.
        $redis = [];
        foreach (['forward' => 'forward', 'redis' => 'redis', 'group' => 'group', 'claimIdle' => 'claim-idle', 'maxDeliveries' => 'max-deliveries'] as $key => $name) {
            $value = $args->value($name);
            if ($value !== null) {
                $redis[$key] = $value;
            }
        }
        try {
            if (Extension::hasDaemon()) {
                Daemon::parseOptions(['command' => $args->command] + $options + $redis);
            } else {
                DaemonOptions::parse($options);
            }
        } catch (\ValueError $e) {
            throw new UsageError($e->getMessage());
        }
        return $options + $redis;
    }
}
