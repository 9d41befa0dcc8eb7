--TEST--
retryFailed() without an identifier replays the batches of every registered job and leaves those of other jobs alone
--INI--
asyncbatch.spool_dir={PWD}/058.spool
asyncbatch.failure_dir={PWD}/058.failed
error_log={PWD}/058.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$dir = __DIR__ . '/058.failed';
$r = new AsyncBatchRunner();
foreach (['a', 'b', 'gone'] as $job) {
    $r->registerAsyncJob($job, fn () => false, ['maxRetries' => 0]);
    $r->submitItem($job, "$job-1");
    $r->flush($job);
}
[$status, $out] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
foreach (['a', 'b'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job) {
        echo "$job replayed: ", implode(',', $items), "\n";
        return true;
    });
}
var_dump(AsyncBatchRunner::retryFailed());
PHP);
echo $out;
foreach (ab_ls($dir) as $name) {
    echo preg_replace('/\.\d{16}\.\d+\.[0-9a-f]{8}\.fail$/', '.{micros}.{pid}.{rand}.fail', $name), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/058.spool');
ab_rmrf(__DIR__ . '/058.failed');
ab_rmrf(__DIR__ . '/058.log');
?>
--EXPECT--
a replayed: a-1
b replayed: b-1
int(2)
gone.{micros}.{pid}.{rand}.fail
