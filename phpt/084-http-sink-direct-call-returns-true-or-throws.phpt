--TEST--
Calling an HttpSink directly posts the batch once: true on 2xx, else an HttpSinkException saying whether a retry may help, the status and the Retry-After
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_time.inc';
$server = new AbHttpServer(__DIR__ . '/084.http');
$sink = new AsyncBatch\HttpSink($server->url, ['timeout' => 0.5]);

function call(callable $sink, array $items): void
{
    try {
        var_dump($sink($items));
    } catch (AsyncBatch\HttpSinkException $e) {
        echo get_class($e), ' (a ', get_parent_class($e), '): ', $e->getMessage(), "\n";
        echo '  retryable: ', var_export($e->isRetryable(), true), ', status: ', var_export($e->getStatusCode(), true),
            ', retry after: ', var_export($e->getRetryAfter(), true), "\n";
    }
}

echo 'callable: ', var_export(is_callable($sink), true), "\n";
call($sink, ['a', ['b' => 1]]);
$server->answer(['status' => 204, 'body' => '']);
call($sink, ['c']);
$server->answer(['status' => 503, 'headers' => ['Retry-After' => '7'], 'body' => 'busy']);
call($sink, ['d']);
$server->answer(['status' => 429, 'headers' => ['Retry-After' => '86400'], 'body' => 'slow down']);
call($sink, ['e']);
$server->answer(['status' => 503, 'headers' => ['Retry-After' => 'soon']]);
call($sink, ['f']);
$server->answer(['status' => 400, 'headers' => ['Retry-After' => '5'], 'body' => "{\"error\":\"bad\"}\n"]);
call($sink, ['g']);
$server->answer(['status' => 408]);
call($sink, ['h']);

echo "HTTP date:\n";
$server->answer(['status' => 503, 'headers' => ['Retry-After' => gmdate('D, d M Y H:i:s', time() + 10) . ' GMT']]);
try {
    $sink(['i']);
} catch (AsyncBatch\HttpSinkException $e) {
    $after = $e->getRetryAfter();
    // 10 s ahead when the answer was queued, less the time the call took (at most 1.1 s).
    $ok = is_float($after) && $after <= 10.0 && ab_under(10.0 - $after, 1.1, 'HTTP date 10 s ahead, time taken off it');
    echo '  retry after 9 to 10 s: ', $ok ? 'yes' : var_export($after, true), "\n";
}
$server->answer(['status' => 503, 'headers' => ['Retry-After' => 'Thu, 01 Jan 1970 00:00:00 GMT']]);
call($sink, ['j']);

echo "nothing listening:\n";
$port = ab_free_port();
call(new AsyncBatch\HttpSink("http://127.0.0.1:$port/x"), ['k']);
echo "a server that does not answer in time:\n";
$server->answer(['status' => 200, 'sleep' => 3]);
$t = microtime(true);
call($sink, ['l']);
$took = microtime(true) - $t;
// The server answers after 3 s: giving up well before shows the 0.5 s timeout.
echo '  gave up after 0.5 to 2 s: ', $took >= 0.5 && ab_under($took, 2, 'gave up') ? 'yes' : "no ($took s)", "\n";
echo count($server->waitRequests(10)), " requests\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/084.http');
?>
--EXPECTF--
callable: true
bool(true)
bool(true)
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 503 Service Unavailable: busy
  retryable: true, status: 503, retry after: 7.0
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 429 Too Many Requests: slow down
  retryable: true, status: 429, retry after: 300.0
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 503 Service Unavailable: ok
  retryable: true, status: 503, retry after: NULL
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 400 Bad Request: {"error":"bad"}%w
  retryable: false, status: 400, retry after: 5.0
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 408 Request Timeout: ok
  retryable: true, status: 408, retry after: NULL
HTTP date:
  retry after 9 to 10 s: yes
AsyncBatch\HttpSinkException (a RuntimeException): HTTP 503 Service Unavailable: ok
  retryable: true, status: 503, retry after: 0.0
nothing listening:
AsyncBatch\HttpSinkException (a RuntimeException): connection to 127.0.0.1:%d failed: %s
  retryable: true, status: NULL, retry after: NULL
a server that does not answer in time:
AsyncBatch\HttpSinkException (a RuntimeException): timeout after 0.5s
  retryable: true, status: NULL, retry after: NULL
  gave up after 0.5 to 2 s: yes
10 requests
