--TEST--
retryFailed() replays stored batches through the registered callable once and removes their files
--INI--
asyncbatch.spool_dir={PWD}/006.spool
asyncbatch.failure_dir={PWD}/006.failed
error_log={PWD}/006.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn (array $items) => false, ['maxRetries' => 0, 'batchSize' => 2]);
foreach (['a', 'b', 'c'] as $item) {
    $r->submitItem('t', $item);
}
$r->flush('t');
echo count(ab_ls(__DIR__ . '/006.failed', '*.fail')), " failure files\n";

$r->registerAsyncJob('t', function (array $items) {
    echo 'replayed: ', implode(',', $items), "\n";
    return true;
});
var_dump(AsyncBatchRunner::retryFailed('t'));
echo count(ab_ls(__DIR__ . '/006.failed', '*.fail')), " failure files\n";
var_dump(AsyncBatchRunner::retryFailed('t'));
var_dump(AsyncBatchRunner::retryFailed());
$s = $r->stats()['t'];
echo "delivered {$s['delivered']}, batches {$s['batches']}\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/006.spool');
ab_rmrf(__DIR__ . '/006.failed');
ab_rmrf(__DIR__ . '/006.log');
?>
--EXPECT--
2 failure files
replayed: a,b
replayed: c
int(3)
0 failure files
int(0)
int(0)
delivered 3, batches 2
