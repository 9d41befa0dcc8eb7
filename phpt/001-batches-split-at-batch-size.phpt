--TEST--
Items are delivered in batches of at most batchSize, in order
--INI--
asyncbatch.spool_dir={PWD}/001.spool
asyncbatch.failure_dir={PWD}/001.failed
error_log={PWD}/001.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'batch: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 3]);
for ($i = 1; $i <= 7; $i++) {
    $r->submitItem('t', $i);
}
$n = $r->flush('t');
echo "flushed $n\n";
var_dump($r->stats()['t']['batches']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/001.spool');
ab_rmrf(__DIR__ . '/001.failed');
ab_rmrf(__DIR__ . '/001.log');
?>
--EXPECT--
batch: 1,2,3
batch: 4,5,6
batch: 7
flushed 1
int(3)
