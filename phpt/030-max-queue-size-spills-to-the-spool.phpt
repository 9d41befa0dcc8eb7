--TEST--
When a queue reaches maxQueueSize the whole queue is written to the spool; spooled items are delivered later, in order
--INI--
asyncbatch.spool_dir={PWD}/030.spool
asyncbatch.failure_dir={PWD}/030.failed
error_log={PWD}/030.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 100, 'maxQueueSize' => 5]);
for ($i = 1; $i <= 12; $i++) {
    $r->submitItem('t', $i);
}
$s = $r->stats()['t'];
echo "submitted {$s['submitted']}, spooled {$s['spooled']}, queued {$s['queued']}, delivered {$s['delivered']}\n";
echo count(ab_ls(__DIR__ . '/030.spool', '*.seg')), " segments\n";
$all = [];
$r->registerAsyncJob('t', function (array $items) use (&$all) {
    array_push($all, ...$items);
    return true;
}, ['batchSize' => 100, 'maxQueueSize' => 5]);
var_dump($r->flush('t'));
echo implode(',', $all), "\n";
echo count(ab_ls_held(__DIR__ . '/030.spool')), " files left\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/030.spool');
ab_rmrf(__DIR__ . '/030.failed');
ab_rmrf(__DIR__ . '/030.log');
?>
--EXPECT--
submitted 12, spooled 10, queued 2, delivered 0
2 segments
int(12)
1,2,3,4,5,6,7,8,9,10,11,12
0 files left
