--TEST--
In the CLI, a partial batch is delivered at the next submitItem once its oldest item is callPeriod old
--INI--
asyncbatch.spool_dir={PWD}/003.spool
asyncbatch.failure_dir={PWD}/003.failed
error_log={PWD}/003.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'batch: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 100, 'callPeriod' => 0.2]);
foreach ([1, 2, 3] as $i) {
    $r->submitItem('t', $i);
}
echo "3 submitted, nothing due\n";
usleep(300000);
$r->submitItem('t', 4);
echo "4 submitted after the period\n";
$r->submitItem('t', 5);
echo "5 submitted\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/003.spool');
ab_rmrf(__DIR__ . '/003.failed');
ab_rmrf(__DIR__ . '/003.log');
?>
--EXPECT--
3 submitted, nothing due
batch: 1,2,3,4
4 submitted after the period
5 submitted
batch: 5
