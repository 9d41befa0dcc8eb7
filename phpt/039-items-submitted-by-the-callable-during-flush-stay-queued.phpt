--TEST--
Items a callable submits while flush() runs are left queued (not delivered by that flush, nor at once in the CLI)
--INI--
asyncbatch.spool_dir={PWD}/039.spool
asyncbatch.failure_dir={PWD}/039.failed
error_log={PWD}/039.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) use (&$r) {
    echo 'delivered: ', implode(',', $items), "\n";
    foreach ($items as $i) {
        if (is_int($i)) {
            $r->submitItem('t', "echo of $i");
        }
    }
    return true;
}, ['batchSize' => 2]);
$r->submitItem('t', 1);
echo "after first submit\n";
$r->submitItem('t', 2);
echo 'queued after the CLI delivery: ', $r->stats()['t']['queued'], "\n";
var_dump($r->flush('t'));
echo 'queued: ', $r->stats()['t']['queued'], "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/039.spool');
ab_rmrf(__DIR__ . '/039.failed');
ab_rmrf(__DIR__ . '/039.log');
?>
--EXPECT--
after first submit
delivered: 1,2
queued after the CLI delivery: 2
delivered: echo of 1,echo of 2
int(2)
queued: 0
