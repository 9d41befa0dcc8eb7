--TEST--
submitItem, flush and retryFailed throw UnknownJobException naming an unregistered identifier
--INI--
asyncbatch.spool_dir={PWD}/010.spool
asyncbatch.failure_dir={PWD}/010.failed
error_log={PWD}/010.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$calls = [
    'submitItem' => fn () => $r->submitItem('nope', 1),
    'flush' => fn () => $r->flush('nope'),
    'retryFailed' => fn () => AsyncBatchRunner::retryFailed('nope'),
];
foreach ($calls as $name => $call) {
    try {
        $call();
        echo "$name: no exception\n";
    } catch (InvalidArgumentException $e) {
        echo "$name: ", get_class($e), ': ', $e->getMessage(), "\n";
    }
}
$r->registerAsyncJob('yes', fn () => true);
try {
    $r->submitItem("no\0pe", 1);
} catch (AsyncBatch\UnknownJobException $e) {
    echo 'NUL: ', $e->getMessage(), "\n";
}
var_dump($r->flush(), AsyncBatchRunner::retryFailed());
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/010.spool');
ab_rmrf(__DIR__ . '/010.failed');
ab_rmrf(__DIR__ . '/010.log');
?>
--EXPECT--
submitItem: AsyncBatch\UnknownJobException: Unknown job 'nope': register it with registerAsyncJob() first
flush: AsyncBatch\UnknownJobException: Unknown job 'nope': register it with registerAsyncJob() first
retryFailed: AsyncBatch\UnknownJobException: Unknown job 'nope': register it with registerAsyncJob() first
NUL: Unknown job 'no\0pe': register it with registerAsyncJob() first
int(0)
int(0)
