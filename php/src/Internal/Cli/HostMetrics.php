<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

/**
 * The metrics `status --format prometheus` renders itself when no running daemon
 * rendered them (`{spool_dir}/daemon.prom`): whether the daemon runs, the SysV queue,
 * and per job what waits in the spool and the failure store, with the names, help
 * texts and rules of the daemon's rendering (core/src/daemon/metrics.rs).
 */
final class HostMetrics
{
    /**
     * @param array{messages: int, bytes: int} $queue HostState::queue()
     * @param array{spool: array<string, array{files: int, bytes: int, oldest: ?float}>,
     *              failed: array<string, array{files: int, bytes: int, oldest: ?float}>} $jobs HostState::jobs()
     * @param float $now Unix time the ages are counted to
     */
    public static function render(bool $daemonUp, array $queue, array $jobs, float $now): string
    {
        $out = new Exposition();
        $out->family('asyncbatch_daemon_up', 'gauge', 'Whether the asyncbatch daemon runs.');
        $out->sample([], $daemonUp ? 1 : 0);
        $out->family('asyncbatch_queue_messages', 'gauge', 'Messages waiting on the SysV queue.');
        $out->sample([], $queue['messages']);
        $out->family('asyncbatch_queue_bytes', 'gauge', 'Bytes waiting on the SysV queue.');
        $out->sample([], $queue['bytes']);

        $files = static fn (array $by): array => array_map(static fn (array $f): float => $f['files'], $by);
        $bytes = static fn (array $by): array => array_map(static fn (array $f): float => $f['bytes'], $by);
        $ages = [];
        foreach ($jobs['spool'] as $job => $f) {
            if ($f['oldest'] !== null) {
                $ages[$job] = max(0.0, $now - $f['oldest']);
            }
        }
        $out->perJob('asyncbatch_spool_segments', 'gauge', 'Segments waiting in the spool.', $files($jobs['spool']));
        $out->perJob(
            'asyncbatch_spool_bytes',
            'gauge',
            'Bytes of the segments waiting in the spool.',
            $bytes($jobs['spool']),
        );
        $out->perJob(
            'asyncbatch_spool_oldest_age_seconds',
            'gauge',
            'Age of the oldest segment waiting in the spool.',
            $ages,
        );
        $out->perJob(
            'asyncbatch_failure_store_files',
            'gauge',
            'Failed batches kept in the failure store.',
            $files($jobs['failed']),
        );
        $out->perJob(
            'asyncbatch_failure_store_bytes',
            'gauge',
            'Bytes of the failed batches kept in the failure store.',
            $bytes($jobs['failed']),
        );
        return $out->text();
    }
}
