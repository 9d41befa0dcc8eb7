--TEST--
asyncbatch status without a live daemon says why, still shows queue depth and spool size, and exits 1
--SKIPIF--
<?php if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: its heartbeat ages are timed in seconds, which valgrind stretches'); ?>
--INI--
asyncbatch.spool_dir={PWD}/070.spool
asyncbatch.failure_dir={PWD}/070.failed
error_log={PWD}/070.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/070.spool';
$key = sprintf('0x%08x', (crc32($spool) & 0x7fffffff) ?: 1);

[$status, $out, $err] = ab_cli(['status']);
echo "no status file: exit status $status\n", str_replace($key, 'KEY', $out), $err;

@mkdir($spool, 0700);
file_put_contents("$spool/t.0000000000000001.1.0.seg", str_repeat('x', 100));
file_put_contents("$spool/t.0000000000000002.1.1.part", str_repeat('x', 28));
file_put_contents("$spool/t.0000000000000003.1.2.corrupt", 'not counted');
// A pid that cannot be running: beyond the kernel's pid_max.
$dead = (int) trim((string) @file_get_contents('/proc/sys/kernel/pid_max') ?: '4194304') + 1;
$stale = ['v' => 1, 'pid' => $dead, 'startedAt' => microtime(true) - 60, 'heartbeatAt' => microtime(true),
    'queue' => ['key' => $key, 'messages' => 99, 'bytes' => 999], 'spool' => ['segments' => 99, 'bytes' => 999]];
file_put_contents("$spool/daemon.status", json_encode($stale));
[$status, $out, $err] = ab_cli(['status']);
echo "dead pid: exit status $status\n", str_replace([$key, (string) $dead], ['KEY', 'DEAD'], $out), $err;

$stale['pid'] = getmypid();
$stale['heartbeatAt'] = microtime(true) - 30;
file_put_contents("$spool/daemon.status", json_encode($stale));
[$status, $out, $err] = ab_cli(['status']);
echo "old heartbeat: exit status $status\n", str_replace([$key, (string) getmypid()], ['KEY', 'PID'], $out), $err;

[$status, $out, $err] = ab_cli(['status', '--json']);
$json = json_decode($out, true);
echo "--json: exit status $status\n";
// 30 s and however long the CLI runs took (they start PHP, and the machine may be busy).
var_dump($json['running'], (bool) preg_match(sprintf('/^pid %d has not written its status for 3\d\.\ds$/', getmypid()), $json['reason']));
echo json_encode(['queue' => $json['queue'], 'spool' => $json['spool']]) === json_encode([
    'queue' => ['key' => $key, 'messages' => 0, 'bytes' => 0], 'spool' => ['segments' => 2, 'bytes' => 128],
]) ? "queue and spool measured now\n" : "queue and spool: $out\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/070.spool');
ab_rmrf(__DIR__ . '/070.failed');
ab_rmrf(__DIR__ . '/070.log');
?>
--EXPECTF--
no status file: exit status 1
asyncbatch daemon: not running (no status file %s/070.spool/daemon.status)
  queue:     KEY, 0 messages, 0 B
  spool:     %s/070.spool, 0 segments, 0 B
dead pid: exit status 1
asyncbatch daemon: not running (pid DEAD is not running)
  queue:     KEY, 0 messages, 0 B
  spool:     %s/070.spool, 2 segments, 128 B
old heartbeat: exit status 1
asyncbatch daemon: not running (pid PID has not written its status for 30.%ds)
  queue:     KEY, 0 messages, 0 B
  spool:     %s/070.spool, 2 segments, 128 B
--json: exit status 1
bool(false)
bool(true)
queue and spool measured now
