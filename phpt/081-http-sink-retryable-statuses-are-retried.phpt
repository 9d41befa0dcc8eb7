--TEST--
408, 429 and 5xx (but 501) are retried with the job's backoff until a 2xx delivers the batch; when the retries run out the batch is stored with the last status
--INI--
asyncbatch.spool_dir={PWD}/081.spool
asyncbatch.failure_dir={PWD}/081.failed
error_log={PWD}/081.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/081.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', new AsyncBatch\HttpSink($server->url, ['maxRetries' => 6, 'retryDelay' => 0.001]));
$server->answer(
    ['status' => 503, 'body' => 'busy'],
    ['status' => 500],
    ['status' => 502],
    ['status' => 504],
    ['status' => 408],
    ['status' => 429],
    ['status' => 202],
);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
echo 'flush: ', $r->flush('t'), "\n";
foreach ($server->requests() as $q) {
    echo '  ', $q['status'], ' ', $q['body'], "\n";
}
$s = $r->stats()['t'];
echo "delivered {$s['delivered']}, batches {$s['batches']}, retries {$s['retries']}, failedBatches {$s['failedBatches']}\n";

echo "retries run out:\n";
$r->registerAsyncJob('u', new AsyncBatch\HttpSink($server->url), ['maxRetries' => 2, 'retryDelay' => 0.001]);
$server->byDefault(['status' => 503, 'body' => "down\nfor maintenance"]);
$r->submitItem('u', 'c');
echo 'flush: ', $r->flush('u'), ', requests ', count($server->requests()) - 7, "\n";
$s = $r->stats()['u'];
echo "retries {$s['retries']}, failedBatches {$s['failedBatches']}, persisted {$s['persisted']}, lastError {$s['lastError']}\n";
echo implode("\n", ab_log_lines(__DIR__ . '/081.log')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/081.$x");
}
?>
--EXPECTF--
flush: 2
  503 ["a","b"]
  500 ["a","b"]
  502 ["a","b"]
  504 ["a","b"]
  408 ["a","b"]
  429 ["a","b"]
  202 ["a","b"]
delivered 2, batches 1, retries 6, failedBatches 0
retries run out:
flush: 0, requests 3
retries 2, failedBatches 1, persisted 1, lastError HTTP 503 Service Unavailable: down for maintenance
asyncbatch: job 'u': a batch of 1 item failed 3 times (HTTP 503 Service Unavailable: down for maintenance); stored in %s/081.failed/%s.fail
