--TEST--
stats() has exactly the documented keys, in order, and its counts agree with what was delivered
--INI--
asyncbatch.spool_dir={PWD}/019.spool
asyncbatch.failure_dir={PWD}/019.failed
error_log={PWD}/019.log
--FILE--
<?php
$r = new AsyncBatchRunner();
var_dump($r->stats());
$got = 0;
$r->registerAsyncJob('ok', function (array $items) use (&$got) {
    $got += count($items);
    return true;
}, ['batchSize' => 2]);
$tries = 0;
$r->registerAsyncJob('flaky', function (array $items) use (&$tries) {
    return ++$tries % 3 === 0; // fails twice, then succeeds
}, ['maxRetries' => 5, 'retryDelay' => 0]);
$r->registerAsyncJob('bad', function (array $items) {
    throw new LogicException('always');
}, ['maxRetries' => 1, 'retryDelay' => 0]);
for ($i = 0; $i < 5; $i++) {
    $r->submitItem('ok', $i);
}
$r->submitItem('flaky', 'f');
$r->submitItem('bad', 'b1');
$r->submitItem('bad', 'b2');
$before = microtime(true);
var_dump($r->flush());
var_dump($got);
$stats = $r->stats();
var_dump($stats['bad']['lastFlushAt'] >= $before, $stats['ok']['lastFlushAt'] <= microtime(true));
foreach ($stats as $id => $s) {
    unset($s['lastFlushAt']);
    echo $id, ': ', json_encode($s), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/019.spool');
ab_rmrf(__DIR__ . '/019.failed');
ab_rmrf(__DIR__ . '/019.log');
?>
--EXPECT--
array(0) {
}
int(2)
int(5)
bool(true)
bool(true)
ok: {"submitted":5,"delivered":5,"batches":3,"failedBatches":0,"retries":0,"persisted":0,"queued":0,"spooled":0,"dropped":0,"lastError":null}
flaky: {"submitted":1,"delivered":1,"batches":1,"failedBatches":0,"retries":2,"persisted":0,"queued":0,"spooled":0,"dropped":0,"lastError":"callable returned false"}
bad: {"submitted":2,"delivered":0,"batches":0,"failedBatches":1,"retries":1,"persisted":2,"queued":0,"spooled":0,"dropped":0,"lastError":"LogicException: always"}
