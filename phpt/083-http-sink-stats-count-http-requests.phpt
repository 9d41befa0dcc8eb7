--TEST--
stats() of a sink job has an http row: requests (retries included), body bytes as sent, responses by status, retries, batches stored as failed
--INI--
asyncbatch.spool_dir={PWD}/083.spool
asyncbatch.failure_dir={PWD}/083.failed
error_log={PWD}/083.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/083.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('plain', fn () => true);
$r->registerAsyncJob('sink', new AsyncBatch\HttpSink($server->url, ['gzip' => true, 'batchSize' => 2, 'retryDelay' => 0.001]));
echo 'a fresh sink job: ', json_encode($r->stats()['sink']['http']), "\n";
$server->answer(['status' => 503], ['status' => 200], ['status' => 400], ['status' => 503], ['status' => 503]);
foreach (['a', 'b', 'c', 'd', 'e'] as $item) {
    $r->submitItem('sink', str_repeat($item, 100));
}
$r->flush('sink');
$stats = $r->stats();
echo 'keys: ', implode(', ', array_keys($stats['sink'])), "\n";
echo 'the plain job has no http row: ', array_key_exists('http', $stats['plain']) ? 'no' : 'yes', "\n";
$http = $stats['sink']['http'];
echo "requests {$http['requests']}, retries {$http['retries']}, failures {$http['failures']}\n";
echo 'statuses: ', json_encode($http['statuses']), "\n";
$bytes = array_sum(array_map(fn ($q) => strlen($q['body']), $server->requests()));
echo 'bytes are the compressed bodies the server got: ', $http['bytes'] === $bytes ? 'yes' : "no ({$http['bytes']} vs $bytes)", "\n";
$s = $stats['sink'];
echo "delivered {$s['delivered']}, batches {$s['batches']}, retries {$s['retries']}, failedBatches {$s['failedBatches']}, persisted {$s['persisted']}\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/083.$x");
}
?>
--EXPECT--
a fresh sink job: {"requests":0,"bytes":0,"statuses":[],"retries":0,"failures":0}
keys: submitted, delivered, batches, failedBatches, retries, persisted, queued, spooled, dropped, lastError, lastFlushAt, http
the plain job has no http row: yes
requests 6, retries 3, failures 1
statuses: {"200":2,"400":1,"503":3}
bytes are the compressed bodies the server got: yes
delivered 3, batches 2, retries 3, failedBatches 1, persisted 2
