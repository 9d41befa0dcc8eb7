--TEST--
A bad config value throws InvalidConfigException naming the key, the rule and what was given; strings are never coerced
--INI--
asyncbatch.spool_dir={PWD}/012.spool
asyncbatch.failure_dir={PWD}/012.failed
error_log={PWD}/012.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$cases = [
    ['batchSize' => 0],
    ['batchSize' => -3],
    ['batchSize' => '10'],
    ['batchSize' => 10.0],
    ['batchSize' => null],
    ['callPeriod' => 0],
    ['callPeriod' => -1.5],
    ['callPeriod' => NAN],
    ['callPeriod' => INF],
    ['callPeriod' => '2'],
    ['maxRetries' => -1],
    ['maxRetries' => true],
    ['maxRetries' => 1.5],
    ['retryDelay' => -0.5],
    ['retryDelay' => -INF],
    ['retryDelay' => []],
    ['maxQueueSize' => 0],
    ['maxQueueSize' => 1.0E+25],
    ['maxQueueSize' => new stdClass()],
    ['batchSize' => 0, 'nope' => 1],
    ['nope' => 1, 'batchSize' => 0],
    ['batchSize' => 5, 'maxRetries' => 'three'],
];
foreach ($cases as $config) {
    try {
        $r->registerAsyncJob('job1', fn () => true, $config);
        echo "accepted\n";
    } catch (AsyncBatch\InvalidConfigException $e) {
        echo $e->getMessage(), "\n";
    }
}
$r->registerAsyncJob('job1', fn () => true, ['batchSize' => 1, 'callPeriod' => 1, 'maxRetries' => 0, 'retryDelay' => 0, 'maxQueueSize' => 1]);
$r->registerAsyncJob('job1', fn () => true, ['callPeriod' => 0.001, 'retryDelay' => 2.5]);
echo "valid configs accepted\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/012.spool');
ab_rmrf(__DIR__ . '/012.failed');
ab_rmrf(__DIR__ . '/012.log');
?>
--EXPECT--
Config key 'batchSize' of job 'job1' must be an integer >= 1, got 0
Config key 'batchSize' of job 'job1' must be an integer >= 1, got -3
Config key 'batchSize' of job 'job1' must be an integer >= 1, got string
Config key 'batchSize' of job 'job1' must be an integer >= 1, got 10
Config key 'batchSize' of job 'job1' must be an integer >= 1, got null
Config key 'callPeriod' of job 'job1' must be a number > 0, got 0
Config key 'callPeriod' of job 'job1' must be a number > 0, got -1.5
Config key 'callPeriod' of job 'job1' must be a number > 0, got NAN
Config key 'callPeriod' of job 'job1' must be a number > 0, got INF
Config key 'callPeriod' of job 'job1' must be a number > 0, got string
Config key 'maxRetries' of job 'job1' must be an integer >= 0, got -1
Config key 'maxRetries' of job 'job1' must be an integer >= 0, got bool
Config key 'maxRetries' of job 'job1' must be an integer >= 0, got 1.5
Config key 'retryDelay' of job 'job1' must be a number >= 0, got -0.5
Config key 'retryDelay' of job 'job1' must be a number >= 0, got -INF
Config key 'retryDelay' of job 'job1' must be a number >= 0, got array
Config key 'maxQueueSize' of job 'job1' must be an integer >= 1, got 0
Config key 'maxQueueSize' of job 'job1' must be an integer >= 1, got 1.0E+25
Config key 'maxQueueSize' of job 'job1' must be an integer >= 1, got stdClass
Config key 'batchSize' of job 'job1' must be an integer >= 1, got 0
Unknown config key 'nope' for job 'job1' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
Config key 'maxRetries' of job 'job1' must be an integer >= 0, got string
valid configs accepted
