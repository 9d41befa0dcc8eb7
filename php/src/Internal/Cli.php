<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\Internal\Cli\Arguments;
use AsyncBatch\Internal\Cli\DaemonCommands;
use AsyncBatch\Internal\Cli\DrainCommand;
use AsyncBatch\Internal\Cli\FailedCommands;
use AsyncBatch\Internal\Cli\StatusCommand;

/**
 * The `asyncbatch` command: list, show, retry and purge the failure store; run the
 * daemon, drain once, show the daemon's status. This parses the command line, runs
 * the command (classes in Cli/) and turns what it throws into a message and an exit
 * status: 0 done, 1 error, 2 bad usage.
 */
final class Cli
{
    /**
     * Runs the command line and returns the exit status.
     *
     * @param list<string> $argv
     */
    public static function main(array $argv): int
    {
        try {
            $args = Arguments::parse(array_slice($argv, 1));
            return match ($args->command) {
                'help' => self::help(),
                'failed:list', 'failed:show', 'failed:retry', 'failed:purge' => FailedCommands::run($args),
                'daemon', 'consume' => DaemonCommands::run($args),
                'drain' => DrainCommand::run($args),
                'status' => StatusCommand::run($args),
            };
        } catch (UsageError $e) {
            fwrite(STDERR, 'asyncbatch: ' . $e->getMessage() . "\nRun 'asyncbatch help' for usage.\n");
            return 2;
        } catch (\Throwable $e) {
            fwrite(STDERR, 'asyncbatch: ' . $e->getMessage() . "\n");
            return 1;
        }
    }

    private static function help(): int
    {
        printf(
            <<<'TXT'
            Usage: asyncbatch <command> [options]

            Commands:
              failed:list [--job ID] [--json]             list stored failed batches
              failed:show NAME|PATH                       print one failed batch as JSON
              failed:retry --bootstrap FILE [--job ID]    replay failed batches through the jobs
                                                          the bootstrap file registers
              failed:purge (--job ID | --all) [--older-than SECONDS]
                                                          delete failed batches
              daemon --bootstrap FILE [--workers N] [--stop-timeout S] [--log FILE]
                                                          run the daemon: N workers (default %d)
                                                          deliver what PHP processes hand off;
                                                          SIGTERM stops it within S seconds
                                                          (default %s); errors go to FILE
                    [--forward redis://HOST:PORT/DB]      forward each batch to the job's Redis
                                                          stream instead of calling its callable
                    [--metrics [HOST:]PORT [--metrics-public]]
                                                          serve Prometheus metrics on /metrics
                                                          (127.0.0.1 unless HOST is given; an
                                                          address beyond loopback needs
                                                          --metrics-public)
              consume --bootstrap FILE --redis redis://HOST:PORT/DB [--workers N] [--group NAME]
                    [--claim-idle S] [--max-deliveries N] [--stop-timeout S] [--log FILE]
                                                          deliver the batches of the bootstrap's
                                                          jobs that daemons forwarded to Redis
                                                          (group default asyncbatch; entries
                                                          pending S seconds, default 60, are
                                                          claimed; one delivered more than N
                                                          times, default 5, is stored as failed)
              drain --bootstrap FILE [--max-time S]       deliver everything queued and spooled
                                                          for the bootstrap's jobs, then exit;
                                                          with S, start no batch that would end
                                                          after S seconds (one drain at a time:
                                                          another exits 0 at once)
              status [--format text|json|prometheus]      the daemon's counters, queue depth and
                                                          spool size; exit 1 when it is not running
                                                          (--json is --format json; prometheus: the
                                                          metrics, measured here without a daemon,
                                                          exit 0)
              help                                        show this help

            Options:
              --failure-dir DIR   failure store directory (default: ini asyncbatch.failure_dir)
              --polyfill          run with the pure-PHP implementation when the asyncbatch
                                  extension is not loaded (failed:*, drain; not daemon)

            Exit status: 0 done, 1 error, 2 bad usage.

            TXT,
            DaemonOptions::DEFAULT_WORKERS,
            DaemonOptions::DEFAULT_STOP_TIMEOUT,
        );
        return 0;
    }
}
