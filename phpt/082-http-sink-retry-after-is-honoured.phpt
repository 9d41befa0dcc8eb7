--TEST--
A Retry-After header (seconds or an HTTP date) makes the wait before the retry at least that long, whatever the backoff
--INI--
asyncbatch.spool_dir={PWD}/082.spool
asyncbatch.failure_dir={PWD}/082.failed
error_log={PWD}/082.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_time.inc';
$server = new AbHttpServer(__DIR__ . '/082.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', new AsyncBatch\HttpSink($server->url, ['maxRetries' => 3, 'retryDelay' => 0.001]));

$cases = [
    'seconds' => fn () => ['status' => 503, 'headers' => ['Retry-After' => '1']],
    // Whole seconds: 2 to 3 s from now.
    'HTTP date' => fn () => ['status' => 429, 'headers' => ['Retry-After' => gmdate('D, d M Y H:i:s', time() + 3) . ' GMT']],
    'none' => fn () => ['status' => 503],
];
$seen = 0;
foreach ($cases as $what => $response) {
    $server->answer($response());
    $r->submitItem('t', $what);
    $flushed = $r->flush('t');
    $requests = $server->requests();
    [$first, $second] = array_slice($requests, $seen, 2);
    $seen = count($requests);
    $wait = $second['at'] - $first['at'];
    echo "$what: flush $flushed, ", $second['status'], ' after ', $first['status'], ', ';
    // Lower bounds exact; upper bounds with room for a loaded machine.
    echo match ($what) {
        'seconds', 'HTTP date' => $wait >= 1.0 && ab_under($wait, 4, "wait, $what") ? 'waited at least 1 s' : "waited $wait s",
        'none' => ab_under($wait, 0.5, 'wait, none') ? 'the backoff only' : "waited $wait s",
    }, "\n";
}
echo 'retries: ', $r->stats()['t']['retries'], "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/082.$x");
}
?>
--EXPECT--
seconds: flush 1, 200 after 503, waited at least 1 s
HTTP date: flush 1, 200 after 429, waited at least 1 s
none: flush 1, 200 after 503, the backoff only
retries: 3
