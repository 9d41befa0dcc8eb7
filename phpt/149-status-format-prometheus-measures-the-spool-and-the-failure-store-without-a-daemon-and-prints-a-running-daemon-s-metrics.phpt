--TEST--
status --format prometheus: without a running daemon it renders asyncbatch_daemon_up 0, the queue, and per job the spool's segments (.seg, and .part holding frames), bytes and oldest age and the failure store's files and bytes, exit 0; a running daemon's fresh daemon.prom is printed as it is; --json is --format json, another format is a usage error
--SKIPIF--
<?php if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: heartbeat and metrics ages are timed in seconds, which valgrind stretches'); ?>
--INI--
asyncbatch.spool_dir={PWD}/149.spool
asyncbatch.failure_dir={PWD}/149.failed
error_log={PWD}/149.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/149.spool';
$failed = __DIR__ . '/149.failed';
$other = __DIR__ . '/149.other';
$key = sprintf('0x%08x', (crc32($spool) & 0x7fffffff) ?: 1);

// Segments named as made 100 s (and 50 s) ago.
$ago = fn (int $s): string => sprintf('%016d', (int) round((microtime(true) - $s) * 1e6));
$put = function (string $dir, string $name, int $bytes): void {
    @mkdir($dir, 0700);
    file_put_contents("$dir/$name", substr("ABSPOOL\x01" . str_repeat('x', $bytes), 0, $bytes));
};
$put($spool, "t.{$ago(100)}.1.1.seg", 100);
$put($spool, "t.{$ago(50)}.1.2.seg", 50);
$put($spool, "t.{$ago(50)}.1.3.part", 8);   // a journal with only its header: not counted
$put($spool, "t.{$ago(50)}.1.4.part", 300);
$put($spool, "t.{$ago(100)}.1.1.seg.done", 8);
$put($spool, "a%2Fb%22c.{$ago(100)}.1.1.seg", 10);
$put($spool, "~.{$ago(100)}.1.1.seg", 10);
$put($spool, 'foreign.1.1.msg', 10);
$put($failed, 't.1000000000000000.1.1.fail', 70);
$put($failed, 'a%2Fb%22c.1000000000000000.1.1.fail', 30);
$put($failed, 't.1000000000000000.1.1.corrupt', 5);
$put($other, 'u.1000000000000000.1.1.fail', 7);

/** The output, with each age checked to be the one made above (give or take the time the test takes). */
function shown(string $out): string
{
    return preg_replace_callback('/^(asyncbatch_spool_oldest_age_seconds\{.*\}) ([0-9.]+)$/m', function (array $m): string {
        return $m[1] . ' ' . ((float) $m[2] >= 100 && (float) $m[2] < 160 ? '100 s and a little' : $m[2]);
    }, $out);
}

[$status, $out, $err] = ab_cli(['status', '--format', 'prometheus']);
echo "no daemon: exit status $status\n", shown($out), $err;

[$status, $out, $err] = ab_cli(['status', '--format', 'prometheus', '--failure-dir', $other]);
echo "--failure-dir: exit status $status\n", implode("\n", preg_grep('/^asyncbatch_failure_store/', explode("\n", $out))), "\n", $err;

foreach ([['--format', 'yaml'], ['--json', '--format', 'text'], ['--format', 'prometheus', '--redis', 'redis://127.0.0.1:1/0']] as $args) {
    [$status, $out, $err] = ab_cli(['status', ...$args]);
    echo '[status ', implode(' ', $args), "] exit status $status\n", $out, $err;
}
foreach ([['--json'], ['--format', 'json']] as $args) {
    [$status, $out, $err] = ab_cli(['status', ...$args]);
    $json = json_decode($out, true);
    echo '[status ', implode(' ', $args), "] exit status $status: running ", var_export($json['running'], true), ', spool ', json_encode($json['spool']), "\n", $err;
}

// A daemon that runs (this process, with a fresh heartbeat) and rendered its metrics just now.
file_put_contents("$spool/daemon.status", json_encode(['v' => 1, 'pid' => getmypid(), 'startedAt' => microtime(true) - 60,
    'heartbeatAt' => microtime(true), 'queue' => ['key' => $key, 'messages' => 0, 'bytes' => 0], 'spool' => ['segments' => 0, 'bytes' => 0]]));
file_put_contents("$spool/daemon.prom", "# as the daemon rendered it\nasyncbatch_daemon_up 1\n");
[$status, $out, $err] = ab_cli(['status', '--format', 'prometheus']);
echo "a running daemon's metrics: exit status $status\n", $out, $err;
// Rendered 10 s ago: not the daemon's now; measured here, and the daemon runs.
touch("$spool/daemon.prom", time() - 10);
[$status, $out, $err] = ab_cli(['status', '--format', 'prometheus']);
echo "old metrics of a running daemon: exit status $status\n", implode("\n", array_slice(explode("\n", $out), 0, 3)), "\n", $err;
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/149.spool');
ab_rmrf(__DIR__ . '/149.failed');
ab_rmrf(__DIR__ . '/149.other');
ab_rmrf(__DIR__ . '/149.log');
?>
--EXPECT--
no daemon: exit status 0
# HELP asyncbatch_daemon_up Whether the asyncbatch daemon runs.
# TYPE asyncbatch_daemon_up gauge
asyncbatch_daemon_up 0
# HELP asyncbatch_queue_messages Messages waiting on the SysV queue.
# TYPE asyncbatch_queue_messages gauge
asyncbatch_queue_messages 0
# HELP asyncbatch_queue_bytes Bytes waiting on the SysV queue.
# TYPE asyncbatch_queue_bytes gauge
asyncbatch_queue_bytes 0
# HELP asyncbatch_spool_segments Segments waiting in the spool.
# TYPE asyncbatch_spool_segments gauge
asyncbatch_spool_segments{job="a/b\"c"} 1
asyncbatch_spool_segments{job="t"} 3
asyncbatch_spool_segments{job="~"} 1
# HELP asyncbatch_spool_bytes Bytes of the segments waiting in the spool.
# TYPE asyncbatch_spool_bytes gauge
asyncbatch_spool_bytes{job="a/b\"c"} 10
asyncbatch_spool_bytes{job="t"} 450
asyncbatch_spool_bytes{job="~"} 10
# HELP asyncbatch_spool_oldest_age_seconds Age of the oldest segment waiting in the spool.
# TYPE asyncbatch_spool_oldest_age_seconds gauge
asyncbatch_spool_oldest_age_seconds{job="a/b\"c"} 100 s and a little
asyncbatch_spool_oldest_age_seconds{job="t"} 100 s and a little
asyncbatch_spool_oldest_age_seconds{job="~"} 100 s and a little
# HELP asyncbatch_failure_store_files Failed batches kept in the failure store.
# TYPE asyncbatch_failure_store_files gauge
asyncbatch_failure_store_files{job="a/b\"c"} 1
asyncbatch_failure_store_files{job="t"} 1
# HELP asyncbatch_failure_store_bytes Bytes of the failed batches kept in the failure store.
# TYPE asyncbatch_failure_store_bytes gauge
asyncbatch_failure_store_bytes{job="a/b\"c"} 30
asyncbatch_failure_store_bytes{job="t"} 70
--failure-dir: exit status 0
asyncbatch_failure_store_files{job="u"} 1
asyncbatch_failure_store_bytes{job="u"} 7
[status --format yaml] exit status 2
asyncbatch: option '--format' needs text, json or prometheus, got 'yaml'
Run 'asyncbatch help' for usage.
[status --json --format text] exit status 2
asyncbatch: --json is --format json: it does not go with --format text
Run 'asyncbatch help' for usage.
[status --format prometheus --redis redis://127.0.0.1:1/0] exit status 2
asyncbatch: option '--redis' does not go with --format prometheus: the streams are not among the metrics
Run 'asyncbatch help' for usage.
[status --json] exit status 1: running false, spool {"segments":6,"bytes":478}
[status --format json] exit status 1: running false, spool {"segments":6,"bytes":478}
a running daemon's metrics: exit status 0
# as the daemon rendered it
asyncbatch_daemon_up 1
old metrics of a running daemon: exit status 0
# HELP asyncbatch_daemon_up Whether the asyncbatch daemon runs.
# TYPE asyncbatch_daemon_up gauge
asyncbatch_daemon_up 1
