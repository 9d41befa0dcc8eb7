--TEST--
Delivery at shutdown stops starting batches once asyncbatch.shutdown_budget is used up; the rest is spooled and delivered by the next process
--INI--
asyncbatch.spool_dir={PWD}/031.spool
asyncbatch.failure_dir={PWD}/031.failed
error_log={PWD}/031.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('slow', function (array $items) {
    echo 'slow: ', implode(',', $items), "\n";
    usleep(300000);
    return true;
});
$r->registerAsyncJob('next', function (array $items) {
    echo 'next: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('slow', 1);
$r->submitItem('next', 2);
$r->submitItem('next', 3);
PHP, ['asyncbatch.shutdown_budget' => '0.1']);
echo $out, $err, "child exit status: $status\n";
echo count(ab_ls(__DIR__ . '/031.spool', 'next.*.seg')), " segment for next\n";
$r = new AsyncBatchRunner();
$r->registerAsyncJob('next', function (array $items) {
    echo 'next, later: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush());
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/031.spool');
ab_rmrf(__DIR__ . '/031.failed');
ab_rmrf(__DIR__ . '/031.log');
?>
--EXPECT--
slow: 1
child exit status: 0
1 segment for next
next, later: 2,3
int(2)
