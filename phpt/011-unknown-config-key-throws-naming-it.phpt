--TEST--
An unknown config key throws InvalidConfigException naming the key and the job, and the job is not registered
--INI--
asyncbatch.spool_dir={PWD}/011.spool
asyncbatch.failure_dir={PWD}/011.failed
error_log={PWD}/011.log
--FILE--
<?php
$r = new AsyncBatchRunner();
foreach ([['batchsize' => 10], ['batchSize' => 10, 'timeout' => 1], [5]] as $config) {
    try {
        $r->registerAsyncJob('logs', fn () => true, $config);
    } catch (InvalidArgumentException $e) {
        echo get_class($e), ': ', $e->getMessage(), "\n";
    }
}
try {
    $r->submitItem('logs', 1);
} catch (AsyncBatch\UnknownJobException $e) {
    echo "not registered\n";
}
var_dump($r->stats());
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/011.spool');
ab_rmrf(__DIR__ . '/011.failed');
ab_rmrf(__DIR__ . '/011.log');
?>
--EXPECT--
AsyncBatch\InvalidConfigException: Unknown config key 'batchsize' for job 'logs' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
AsyncBatch\InvalidConfigException: Unknown config key 'timeout' for job 'logs' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
AsyncBatch\InvalidConfigException: Unknown config key '0' for job 'logs' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
not registered
array(0) {
}
