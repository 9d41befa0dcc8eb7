<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Daemon;
use AsyncBatch\Internal\Settings;
use AsyncBatch\Internal\UsageError;

/**
 * `status`: what the daemon last wrote to `{spool_dir}/daemon.status`, or why it is
 * not running (exit status 1 then, with the queue and spool measured here), as text
 * or JSON; or, `--format prometheus`, the metrics the running daemon last rendered
 * (`{spool_dir}/daemon.prom`), else those measured here (exit status 0 either way,
 * for node_exporter's textfile collector). Needs neither the extension nor the
 * polyfill, but for `--redis` (the jobs' streams).
 */
final class StatusCommand
{
    /** A daemon is alive when its status was rewritten this recently (seconds). */
    private const HEARTBEAT_MAX_AGE = 5.0;
    /** The daemon's metrics are its own when it rendered them this recently (seconds); it does every second. */
    private const METRICS_MAX_AGE = 5.0;
    private const FORMATS = ['text', 'json', 'prometheus'];

    /** Runs `status`; returns the exit status. */
    public static function run(Arguments $args): int
    {
        $format = self::format($args);
        $spoolDir = Settings::get()->spoolDir;
        // A host that only consumes from Redis has the consumer's status instead.
        $command = !is_file("$spoolDir/daemon.status") && is_file("$spoolDir/consume.status") ? 'consume' : 'daemon';
        $file = "$spoolDir/$command.status";
        $now = microtime(true);

        $status = null;
        $problem = null;
        $bytes = is_file($file) && !is_link($file) ? @file_get_contents($file) : false;
        if ($bytes === false) {
            $problem = sprintf('no status file %s', $file);
        } else {
            $decoded = json_decode($bytes, true);
            if (!is_array($decoded) || !is_int($decoded['pid'] ?? null)) {
                $problem = sprintf('unreadable status file %s', $file);
            } else {
                $status = $decoded;
            }
        }
        if ($status !== null) {
            $age = $now - (float) ($status['heartbeatAt'] ?? 0);
            if (!HostState::alive($status['pid'])) {
                $problem = sprintf('pid %d is not running', $status['pid']);
            } elseif ($age >= self::HEARTBEAT_MAX_AGE) {
                $problem = sprintf('pid %d has not written its status for %s', $status['pid'], Format::duration($age));
            }
        }
        $alive = $problem === null;
        if ($format === 'prometheus') {
            // A consumer's status is not the daemon's: it renders no metrics.
            return self::prometheus($args, $spoolDir, $alive && $command === 'daemon');
        }
        $queue = HostState::queue($spoolDir);
        $spool = HostState::spool($spoolDir);
        if (!$alive) {
            // What the status says of them is old: measure.
            $status = ['queue' => $queue, 'spool' => $spool] + ($status ?? []);
            $status['queue'] = $queue;
            $status['spool'] = $spool;
        }

        $streams = self::streams($args);

        if ($format === 'json') {
            // Decoded again as objects, so that an empty map stays `{}`.
            $raw = $bytes !== false ? json_decode($bytes) : null;
            $fields = $raw instanceof \stdClass ? get_object_vars($raw) : [];
            if (!$alive) {
                $fields = ['queue' => $queue, 'spool' => $spool] + $fields;
                $fields['queue'] = $queue;
                $fields['spool'] = $spool;
            }
            $out = ['running' => $alive] + ($alive ? [] : ['reason' => $problem]) + $fields;
            if ($streams !== null) {
                $out['streams'] = (object) $streams;
            }
            echo Format::json((object) $out);
            return $alive ? 0 : 1;
        }
        if ($streams !== null) {
            self::printStreams($streams, $now);
        }

        if ($alive) {
            self::printDaemon($status, $now, $command);
        } else {
            printf("asyncbatch daemon: not running (%s)\n", $problem);
        }
        $q = $status['queue'];
        $key = (string) ($q['key'] ?? '?');
        if (preg_match('/^0x([0-9a-f]{1,8})$/Di', $key, $m) === 1) {
            $key = sprintf('0x%08x', hexdec($m[1])); // as ipcs shows it
        }
        printf(
            "  queue:     %s, %s, %s\n",
            $key,
            Format::count((int) ($q['messages'] ?? 0), 'message', 'messages'),
            Format::bytes((int) ($q['bytes'] ?? 0)),
        );
        $sp = $status['spool'];
        printf(
            "  spool:     %s, %s, %s\n",
            $spoolDir,
            Format::count((int) ($sp['segments'] ?? 0), 'segment', 'segments'),
            Format::bytes((int) ($sp['bytes'] ?? 0)),
        );
        if ($alive) {
            self::printJobs($status, $now);
        }
        return $alive ? 0 : 1;
    }

    /**
     * `--format text|json|prometheus`; `--json` is `--format json`.
     *
     * @throws UsageError
     */
    private static function format(Arguments $args): string
    {
        $format = $args->value('format');
        if ($format !== null && !in_array($format, self::FORMATS, true)) {
            throw new UsageError(sprintf("option '--format' needs text, json or prometheus, got '%s'", $format));
        }
        if ($args->has('json')) {
            if ($format !== null && $format !== 'json') {
                throw new UsageError(sprintf('--json is --format json: it does not go with --format %s', $format));
            }
            $format = 'json';
        }
        $format ??= 'text';
        if ($format === 'prometheus' && $args->has('redis')) {
            throw new UsageError(
                "option '--redis' does not go with --format prometheus: the streams are not among the metrics",
            );
        }
        return $format;
    }

    /**
     * `--format prometheus`: what the running daemon rendered, when it did lately;
     * else the metrics measured here, with `asyncbatch_daemon_up` saying whether
     * the daemon runs (one that renders no metrics, of an earlier version, still
     * runs).
     */
    private static function prometheus(Arguments $args, string $spoolDir, bool $daemonUp): int
    {
        $file = "$spoolDir/daemon.prom";
        clearstatcache(true, $file);
        $st = $daemonUp ? @lstat($file) : false;
        $fresh = $st !== false && ($st['mode'] & 0170000) === 0100000
            && microtime(true) - $st['mtime'] < self::METRICS_MAX_AGE;
        if ($fresh) {
            $text = @file_get_contents($file);
            if (is_string($text)) {
                echo $text;
                return 0;
            }
        }
        $jobs = HostState::jobs($spoolDir, FailureDir::of($args));
        echo HostMetrics::render($daemonUp, HostState::queue($spoolDir), $jobs, microtime(true));
        return 0;
    }

    /**
     * With `--redis URL`: per job stream, what Redis holds (`length`, `lag`,
     * `pending`, `oldestPendingAge`) and what every host counted (`forwarded`,
     * `claims`, `deadLetters`). Null without the option.
     *
     * @return array<string, array<string, int|float|null>>|null
     */
    private static function streams(Arguments $args): ?array
    {
        $url = $args->value('redis');
        if ($url === null) {
            return null;
        }
        Extension::requireDaemon('status --redis');
        return Daemon::streams($url, $args->value('group') ?? 'asyncbatch');
    }

    /** @param array<string, array<string, int|float|null>> $streams */
    private static function printStreams(array $streams, float $now): void
    {
        echo "asyncbatch streams in Redis:\n";
        if ($streams === []) {
            echo "  (none)\n";
        }
        foreach ($streams as $job => $s) {
            printf(
                "  %s: %d forwarded, %d in the stream, lag %s, %d pending%s, %d claimed, %d dead letters\n",
                Format::printable((string) $job),
                $s['forwarded'],
                $s['length'],
                $s['lag'] === null ? '?' : (string) $s['lag'],
                $s['pending'],
                $s['oldestPendingAge'] === null ? '' : ' (oldest ' . Format::duration((float) $s['oldestPendingAge']) . ')',
                $s['claims'],
                $s['deadLetters'],
            );
        }
    }

    /** The first lines of a running daemon's status: pid, uptime, bootstrap, workers. */
    private static function printDaemon(array $status, float $now, string $command): void
    {
        $started = (float) ($status['startedAt'] ?? $now);
        printf(
            "asyncbatch %s: running, pid %d, up %s (since %s)\n",
            $command,
            $status['pid'],
            Format::duration($now - $started),
            Format::iso($started),
        );
        printf("  bootstrap: %s\n", Format::printable((string) ($status['bootstrap'] ?? '?')));
        $workers = [];
        foreach (($status['workers'] ?? []) as $w) {
            $workers[] = sprintf(
                '#%d pid %s (%s)',
                (int) ($w['index'] ?? 0),
                isset($w['pid']) ? (string) $w['pid'] : '-',
                Format::count((int) ($w['restarts'] ?? 0), 'restart', 'restarts'),
            );
        }
        printf("  workers:   %s\n", $workers === [] ? 'none' : implode(', ', $workers));
    }

    /** The last lines of a running daemon's status: its jobs' counters, what it could not deliver, its last error. */
    private static function printJobs(array $status, float $now): void
    {
        $jobs = is_array($status['jobs'] ?? null) ? $status['jobs'] : [];
        if ($jobs !== []) {
            $table = [['JOB', 'DELIVERED', 'BATCHES', 'FAILED', 'RETRIES', 'PERSISTED', 'DROPPED', 'LAST FLUSH', 'LAST ERROR']];
            foreach ($jobs as $id => $j) {
                $table[] = [
                    Format::printable((string) $id),
                    (string) (int) ($j['delivered'] ?? 0),
                    (string) (int) ($j['batches'] ?? 0),
                    (string) (int) ($j['failedBatches'] ?? 0),
                    (string) (int) ($j['retries'] ?? 0),
                    (string) (int) ($j['persisted'] ?? 0),
                    (string) (int) ($j['dropped'] ?? 0),
                    isset($j['lastFlushAt']) ? Format::ago($now - (float) $j['lastFlushAt']) : '-',
                    isset($j['lastError']) ? Format::cut(Format::printable((string) $j['lastError']), 60) : '-',
                ];
            }
            echo "\n", Format::table($table, '  '), "\n";
        }
        foreach ((is_array($status['unknownJobs'] ?? null) ? $status['unknownJobs'] : []) as $id => $u) {
            printf(
                "  unknown job '%s': %s left in the spool (no worker registers it)\n",
                Format::printable((string) $id),
                Format::count((int) ($u['segments'] ?? 0), 'segment', 'segments'),
            );
        }
        $foreign = (int) ($status['foreignMessages'] ?? 0);
        if ($foreign > 0) {
            printf("  foreign messages: %d (kept as foreign.*.msg in the spool directory)\n", $foreign);
        }
        printf(
            "  last error: %s\n",
            isset($status['lastError']) ? Format::printable((string) $status['lastError']) : 'none',
        );
    }
}
