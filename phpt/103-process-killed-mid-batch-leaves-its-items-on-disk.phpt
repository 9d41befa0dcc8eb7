--TEST--
A process SIGKILLed mid-batch leaves its items on disk: a .part journal per job (and a .done recording the batch done); the next process delivers exactly the items not recorded as done and leaves no file behind
--INI--
asyncbatch.spool_dir={PWD}/103.spool
asyncbatch.failure_dir={PWD}/103.failed
error_log={PWD}/103.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/103.spool';

// t's callable kills its own process on the second batch. A batchSize of 100 while
// submitting keeps the CLI from delivering in submitItem(); registering again with 3
// keeps the queues, delivered at shutdown.
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$calls = 0;
$t = function (array $items) use (&$calls) {
    echo 'child t: ', implode(',', $items), "\n";
    if (++$calls === 2) {
        if (function_exists('posix_kill')) {
            posix_kill(getmypid(), 9);
        } else {
            exec('kill -9 ' . getmypid());
        }
        sleep(10);
        echo "not reached\n";
    }
    return true;
};
$u = function (array $items) {
    echo 'child u: ', implode(',', $items), "\n";
    return true;
};
$r->registerAsyncJob('t', $t, ['batchSize' => 100, 'callPeriod' => 3600]);
$r->registerAsyncJob('u', $u, ['batchSize' => 100, 'callPeriod' => 3600]);
for ($i = 1; $i <= 7; $i++) {
    $r->submitItem('t', "t$i");
}
$r->submitItem('u', 'u1');
$r->submitItem('u', 'u2');
$r->registerAsyncJob('t', $t, ['batchSize' => 3, 'callPeriod' => 3600]);
$r->registerAsyncJob('u', $u, ['batchSize' => 3, 'callPeriod' => 3600]);
echo 'child pid ', getmypid(), "\n";
PHP);
preg_match('/^child pid (\d+)$/m', $out, $m);
$pid = $m[1] ?? '?';
echo str_replace($pid, '{pid}', $out), $err, 'child killed by signal ', $status, "\n";

echo "spool after the kill:\n";
foreach (ab_ls($spool) as $name) {
    $shown = preg_replace('/^([tu])\.\d{16}\.' . preg_quote($pid, '/') . '\.\d+\./', '$1.{micros}.{pid}.{seq}.', $name);
    if (str_ends_with($name, '.done')) {
        $shown .= ' = ' . unpack('P', file_get_contents($spool . '/' . $name))[1];
    }
    echo "  $shown\n";
}

$parent = [];
$r = new AsyncBatchRunner();
foreach (['t', 'u'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job, &$parent) {
        echo "parent $job: ", implode(',', $items), "\n";
        array_push($parent, ...$items);
        return true;
    }, ['batchSize' => 3]);
}
$n = $r->flush();
echo "parent flush: $n\n";
sort($parent, SORT_NATURAL);
echo 'parent delivered: ', implode(',', $parent), "\n";
echo 'files left in the spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/103.spool');
ab_rmrf(__DIR__ . '/103.failed');
ab_rmrf(__DIR__ . '/103.log');
?>
--EXPECT--
child pid {pid}
child t: t1,t2,t3
child t: t4,t5,t6
child killed by signal 9
spool after the kill:
  t.{micros}.{pid}.{seq}.part
  t.{micros}.{pid}.{seq}.part.done = 3
  u.{micros}.{pid}.{seq}.part
parent t: t4,t5,t6
parent t: t7
parent u: u1,u2
parent flush: 6
parent delivered: t4,t5,t6,t7,u1,u2
files left in the spool: []
