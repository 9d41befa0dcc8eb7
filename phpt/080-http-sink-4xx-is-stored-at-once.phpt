--TEST--
A 4xx (other than 408 and 429), a 3xx or a 501 fails the batch permanently: no retry, straight to the failure store with lastError "HTTP {status} {reason}: {first 256 bytes of the body}"
--INI--
asyncbatch.spool_dir={PWD}/080.spool
asyncbatch.failure_dir={PWD}/080.failed
error_log={PWD}/080.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/080.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', new AsyncBatch\HttpSink($server->url, ['maxRetries' => 3, 'retryDelay' => 0]));
$server->answer(
    ['status' => 400, 'body' => "field 'ts' is required\r\nsee\ndocs"],
    ['status' => 422, 'body' => str_repeat('x', 300)],
    ['status' => 302, 'headers' => ['Location' => '/elsewhere'], 'body' => ''],
    ['status' => 501, 'body' => 'no'],
    ['status' => 404, 'body' => ''],
);
foreach ([['a', 'b'], ['c'], ['d'], ['e'], ['f']] as $batch) {
    foreach ($batch as $item) {
        $r->submitItem('t', $item);
    }
    $delivered = $r->flush('t');
    $s = $r->stats()['t'];
    // A run of x shown as x{n}.
    $error = preg_replace_callback('/x{10,}/', fn ($m) => 'x{' . strlen($m[0]) . '}', $s['lastError']);
    echo implode(',', $batch), ": flush $delivered, requests ", count($server->requests()),
        ", retries {$s['retries']}, lastError $error\n";
}
$s = $r->stats()['t'];
echo "delivered {$s['delivered']}, batches {$s['batches']}, failedBatches {$s['failedBatches']}, persisted {$s['persisted']}\n";

$files = ab_ls(__DIR__ . '/080.failed', '*.fail');
echo count($files), " failure files\n";
[$status, $out] = ab_cli(['failed:show', __DIR__ . '/080.failed/' . $files[0]]);
$stored = json_decode($out, true);
echo "first: job {$stored['job']}, attempts {$stored['attempts']}, items ", json_encode($stored['items']), "\n";
echo "  lastError {$stored['lastError']}\n";
echo implode("\n", ab_log_lines(__DIR__ . '/080.log')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/080.$x");
}
?>
--EXPECTF--
a,b: flush 0, requests 1, retries 0, lastError HTTP 400 Bad Request: field 'ts' is required see docs
c: flush 0, requests 2, retries 0, lastError HTTP 422 Unprocessable Entity: x{256}
d: flush 0, requests 3, retries 0, lastError HTTP 302 Found
e: flush 0, requests 4, retries 0, lastError HTTP 501 Not Implemented: no
f: flush 0, requests 5, retries 0, lastError HTTP 404 Not Found
delivered 0, batches 0, failedBatches 5, persisted 6
5 failure files
first: job t, attempts 1, items ["a","b"]
  lastError HTTP 400 Bad Request: field 'ts' is required see docs
asyncbatch: job 't': a batch of 2 items failed 1 times (HTTP 400 Bad Request: field 'ts' is required see docs); stored in %s/080.failed/%s.fail
asyncbatch: job 't': a batch of 1 item failed 1 times (HTTP 422 %s: %s); stored in %s/080.failed/%s.fail
asyncbatch: job 't': a batch of 1 item failed 1 times (HTTP 302 Found); stored in %s/080.failed/%s.fail
asyncbatch: job 't': a batch of 1 item failed 1 times (HTTP 501 Not Implemented: no); stored in %s/080.failed/%s.fail
asyncbatch: job 't': a batch of 1 item failed 1 times (HTTP 404 Not Found); stored in %s/080.failed/%s.fail
