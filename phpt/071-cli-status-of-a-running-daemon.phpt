--TEST--
asyncbatch status prints a live daemon's status for humans (uptime, workers, queue, spool, per-job counters, unknown jobs, last error) or as JSON
--SKIPIF--
<?php if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: its heartbeat ages are timed in seconds, which valgrind stretches'); ?>
--INI--
asyncbatch.spool_dir={PWD}/071.spool
asyncbatch.failure_dir={PWD}/071.failed
error_log={PWD}/071.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/071.spool';
@mkdir($spool, 0700);
$now = microtime(true);
// As the daemon writes it; this test process stands in for its master (it is alive).
$status = [
    'v' => 1, 'pid' => getmypid(), 'startedAt' => $now - 3725.5, 'heartbeatAt' => $now - 0.5,
    'bootstrap' => '/app/jobs.php',
    'workers' => [['index' => 1, 'pid' => 124, 'restarts' => 0], ['index' => 2, 'pid' => 131, 'restarts' => 1]],
    'queue' => ['key' => '0x1a2b3c4d', 'messages' => 3, 'bytes' => 12000],
    'spool' => ['segments' => 3, 'bytes' => 20480],
    'jobs' => [
        'logs' => ['delivered' => 120000, 'batches' => 1200, 'failedBatches' => 0, 'retries' => 2, 'persisted' => 0,
            'dropped' => 0, 'lastError' => null, 'lastFlushAt' => $now - 1.25],
        "metrics\n" => ['delivered' => 0, 'batches' => 0, 'failedBatches' => 1, 'retries' => 3, 'persisted' => 10,
            'dropped' => 0, 'lastError' => "RuntimeException: collector down\nat line 2", 'lastFlushAt' => null],
    ],
    'unknownJobs' => ['old-job' => ['segments' => 2]],
    'foreignMessages' => 1,
    'lastError' => null,
];
file_put_contents("$spool/daemon.status", json_encode($status));
[$code, $out, $err] = ab_cli(['status']);
echo "exit status $code\n", str_replace((string) getmypid(), 'PID', $out), $err;

[$code, $out, $err] = ab_cli(['status', '--json']);
$json = json_decode($out, true);
echo "--json: exit status $code\n";
var_dump($json['running']);
unset($json['running']);
var_dump($json === $status);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/071.spool');
ab_rmrf(__DIR__ . '/071.failed');
ab_rmrf(__DIR__ . '/071.log');
?>
--EXPECTF--
exit status 0
asyncbatch daemon: running, pid PID, up 1h 02m 0%ds (since %d-%d-%dT%d:%d:%d+00:00)
  bootstrap: /app/jobs.php
  workers:   #1 pid 124 (0 restarts), #2 pid 131 (1 restart)
  queue:     0x1a2b3c4d, 3 messages, 11.7 KiB
  spool:     %s/071.spool, 3 segments, 20.0 KiB

  JOB          DELIVERED  BATCHES  FAILED  RETRIES  PERSISTED  DROPPED  LAST FLUSH  LAST ERROR
  logs         120000     1200     0       2        0          0        1.%ds ago    -
  metrics\x0A  0          0        1       3        10         0        -           RuntimeException: collector down\x0Aat line 2

  unknown job 'old-job': 2 segments left in the spool (no worker registers it)
  foreign messages: 1 (kept as foreign.*.msg in the spool directory)
  last error: none
--json: exit status 0
bool(true)
bool(true)
