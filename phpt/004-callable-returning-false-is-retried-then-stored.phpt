--TEST--
A callable returning false is called 1 + maxRetries times, then the batch goes to the failure store
--INI--
asyncbatch.spool_dir={PWD}/004.spool
asyncbatch.failure_dir={PWD}/004.failed
error_log={PWD}/004.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$calls = 0;
$r->registerAsyncJob('t', function (array $items) use (&$calls) {
    $calls++;
    echo "call $calls with ", count($items), " items\n";
    return false;
}, ['maxRetries' => 2, 'retryDelay' => 0]);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
var_dump($r->flush('t'));
$s = $r->stats()['t'];
foreach (['delivered', 'batches', 'failedBatches', 'retries', 'persisted', 'queued', 'dropped', 'lastError'] as $k) {
    echo $k, ': ', var_export($s[$k], true), "\n";
}
echo count(ab_ls(__DIR__ . '/004.failed', '*.fail')), " failure file\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/004.spool');
ab_rmrf(__DIR__ . '/004.failed');
ab_rmrf(__DIR__ . '/004.log');
?>
--EXPECT--
call 1 with 2 items
call 2 with 2 items
call 3 with 2 items
int(0)
delivered: 0
batches: 0
failedBatches: 1
retries: 2
persisted: 2
queued: 0
dropped: 0
lastError: 'callable returned false'
1 failure file
