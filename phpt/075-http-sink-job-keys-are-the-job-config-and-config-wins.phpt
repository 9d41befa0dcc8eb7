--TEST--
An HttpSink's job keys are its job's config; keys given to registerAsyncJob() win over them and are checked as job config
--INI--
asyncbatch.spool_dir={PWD}/075.spool
asyncbatch.failure_dir={PWD}/075.failed
error_log={PWD}/075.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/075.http');
$r = new AsyncBatchRunner();
$sink = new AsyncBatch\HttpSink($server->url, ['batchSize' => 2, 'maxRetries' => 0, 'retryDelay' => 0]);

function show(AbHttpServer $server, int $from): int
{
    $requests = $server->requests();
    foreach (array_slice($requests, $from) as $q) {
        echo '  ', $q['status'], ' ', $q['body'], "\n";
    }
    return count($requests);
}

echo "the sink's batchSize 2:\n";
$r->registerAsyncJob('a', $sink);
foreach (range(0, 4) as $i) {
    $r->submitItem('a', "a$i");
}
$r->flush('a');
$seen = show($server, 0);

echo "batchSize 3 from the config, the sink's maxRetries 0 stays:\n";
$r->registerAsyncJob('b', $sink, ['batchSize' => 3]);
$server->answer(['status' => 503, 'body' => 'busy']);
foreach (range(0, 3) as $i) {
    $r->submitItem('b', "b$i");
}
$r->flush('b');
$seen = show($server, $seen);
$s = $r->stats()['b'];
echo "failedBatches {$s['failedBatches']}, retries {$s['retries']}, persisted {$s['persisted']}\n";

echo "maxRetries 1 from the config:\n";
$r->registerAsyncJob('c', $sink, ['maxRetries' => 1]);
$server->answer(['status' => 503, 'body' => 'busy']);
$r->submitItem('c', 'c0');
echo 'flush: ', $r->flush('c'), "\n";
$seen = show($server, $seen);
$s = $r->stats()['c'];
echo "failedBatches {$s['failedBatches']}, retries {$s['retries']}, delivered {$s['delivered']}\n";

echo "bad config:\n";
foreach ([['batchSize' => 0], ['format' => 'json'], ['maxRetries' => 1, 'retryDelay' => -1]] as $config) {
    try {
        $r->registerAsyncJob('d', $sink, $config);
    } catch (InvalidArgumentException $e) {
        echo '  ', get_class($e), ': ', $e->getMessage(), "\n";
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/075.$x");
}
?>
--EXPECT--
the sink's batchSize 2:
  200 ["a0","a1"]
  200 ["a2","a3"]
  200 ["a4"]
batchSize 3 from the config, the sink's maxRetries 0 stays:
  503 ["b0","b1","b2"]
  200 ["b3"]
failedBatches 1, retries 0, persisted 3
maxRetries 1 from the config:
flush: 1
  503 ["c0"]
  200 ["c0"]
failedBatches 0, retries 1, delivered 1
bad config:
  AsyncBatch\InvalidConfigException: Config key 'batchSize' of job 'd' must be an integer >= 1, got 0
  AsyncBatch\InvalidConfigException: Unknown config key 'format' for job 'd' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)
  AsyncBatch\InvalidConfigException: Config key 'retryDelay' of job 'd' must be a number >= 0, got -1
