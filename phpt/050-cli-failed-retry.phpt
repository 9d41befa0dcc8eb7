--TEST--
asyncbatch failed:retry loads the bootstrap, replays stored batches through the registered jobs and reports what is left
--INI--
asyncbatch.spool_dir={PWD}/050.spool
asyncbatch.failure_dir={PWD}/050.failed
error_log={PWD}/050.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
foreach (['t', 'u'] as $job) {
    $r->registerAsyncJob($job, fn () => false, ['maxRetries' => 0, 'batchSize' => 2]);
    foreach (['a', 'b', 'c'] as $i) {
        $r->submitItem($job, "$job-$i");
    }
    $r->flush($job);
}
$bootstrap = __DIR__ . '/050.bootstrap.php';
file_put_contents($bootstrap, <<<'PHP'
<?php
$runner = new AsyncBatchRunner();
foreach (['t', 'u'] as $job) {
    $runner->registerAsyncJob($job, function (array $items) use ($job) {
        echo "$job replayed: ", implode(',', $items), "\n";
        return $job === 't';
    });
}
PHP);
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap, '--job', 't']);
echo $out, $err, "exit status: $status\n";
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
[$status, $out, $err] = ab_cli(['failed:retry']);
echo $out, $err, "exit status: $status\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/050.spool');
ab_rmrf(__DIR__ . '/050.failed');
ab_rmrf(__DIR__ . '/050.log');
@unlink(__DIR__ . '/050.bootstrap.php');
?>
--EXPECTF--
t replayed: t-a,t-b
t replayed: t-c
Delivered 3 items; 0 failed batches still stored in %s/050.failed
exit status: 0
u replayed: u-a,u-b
u replayed: u-c
Delivered 0 items; 2 failed batches still stored in %s/050.failed
exit status: 0
asyncbatch: failed:retry needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()
Run 'asyncbatch help' for usage.
exit status: 2
