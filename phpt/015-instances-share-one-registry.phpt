--TEST--
Every AsyncBatchRunner instance sees the same jobs, queues and counters
--INI--
asyncbatch.spool_dir={PWD}/015.spool
asyncbatch.failure_dir={PWD}/015.failed
error_log={PWD}/015.log
--FILE--
<?php
$a = new AsyncBatchRunner();
$a->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
$b = new AsyncBatchRunner();
$b->submitItem('t', 'from b');
(new AsyncBatchRunner())->submitItem('t', 'from a third');
var_dump($a->stats() === $b->stats(), $a->stats()['t']['queued']);
var_dump($b->flush());
var_dump($a->stats()['t']['delivered']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/015.spool');
ab_rmrf(__DIR__ . '/015.failed');
ab_rmrf(__DIR__ . '/015.log');
?>
--EXPECT--
bool(true)
int(2)
delivered: from b,from a third
int(2)
int(2)
