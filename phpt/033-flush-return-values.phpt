--TEST--
flush() returns the number of items delivered successfully, for one job or all
--INI--
asyncbatch.spool_dir={PWD}/033.spool
asyncbatch.failure_dir={PWD}/033.failed
error_log={PWD}/033.log
--FILE--
<?php
$r = new AsyncBatchRunner();
var_dump($r->flush());
$r->registerAsyncJob('a', fn (array $items) => !in_array('bad', $items, true), ['batchSize' => 2, 'maxRetries' => 0]);
$r->registerAsyncJob('b', fn () => null);
var_dump($r->flush('a'));
foreach (['x', 'y'] as $i) {
    $r->submitItem('b', $i);
}
var_dump($r->flush('b'));
var_dump($r->flush('b'));
$r->registerAsyncJob('a', fn (array $items) => !in_array('bad', $items, true), ['batchSize' => 10, 'maxRetries' => 0]);
foreach (['ok1', 'ok2', 'bad', 'ok3'] as $i) {
    $r->submitItem('a', $i);
}
$r->registerAsyncJob('a', fn (array $items) => !in_array('bad', $items, true), ['batchSize' => 2, 'maxRetries' => 0]);
$r->submitItem('b', 'z');
var_dump($r->flush());
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/033.spool');
ab_rmrf(__DIR__ . '/033.failed');
ab_rmrf(__DIR__ . '/033.log');
?>
--EXPECT--
int(0)
int(0)
int(2)
int(0)
int(3)
