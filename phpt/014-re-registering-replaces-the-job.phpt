--TEST--
Registering an identifier again replaces callable and config; queued items stay, in order, and counters carry on
--INI--
asyncbatch.spool_dir={PWD}/014.spool
asyncbatch.failure_dir={PWD}/014.failed
error_log={PWD}/014.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'old: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 10]);
$r->submitItem('t', 1);
$r->submitItem('t', 2);
$r->registerAsyncJob('t', function (array $items) {
    echo 'new: ', implode(',', $items), "\n";
    return true;
}, ['batchSize' => 2]);
echo "re-registered\n";
$r->submitItem('t', 3);
echo "3 submitted\n";
var_dump($r->flush('t'));
$s = $r->stats()['t'];
echo "submitted {$s['submitted']}, delivered {$s['delivered']}, batches {$s['batches']}\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/014.spool');
ab_rmrf(__DIR__ . '/014.failed');
ab_rmrf(__DIR__ . '/014.log');
?>
--EXPECT--
re-registered
new: 1,2
3 submitted
new: 3
int(1)
submitted 3, delivered 3, batches 2
