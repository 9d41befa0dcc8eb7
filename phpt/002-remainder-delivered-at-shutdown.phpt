--TEST--
Items still queued at the end of the script are delivered at shutdown
--INI--
asyncbatch.spool_dir={PWD}/002.spool
asyncbatch.failure_dir={PWD}/002.failed
error_log={PWD}/002.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'batch: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 10]);
foreach (['a', 'b', 'c'] as $item) {
    $r->submitItem('t', $item);
}
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/002.spool');
ab_rmrf(__DIR__ . '/002.failed');
ab_rmrf(__DIR__ . '/002.log');
?>
--EXPECT--
end of script
batch: a,b,c
