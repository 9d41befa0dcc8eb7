--TEST--
The polyfill sends the same request and reports the same failures with PHP streams as with curl
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) {
    die('skip the polyfill only');
}
if (!extension_loaded('curl')) {
    die('skip the curl extension is not loaded');
}
?>
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/087.http');
$port = ab_free_port();
$result = [];
foreach (['curl', 'streams'] as $transport) {
    AsyncBatch\Internal\HttpPost::$transport = $transport;
    $out = [];
    foreach ([[], ['format' => 'ndjson', 'gzip' => true, 'headers' => ['Authorization' => 'Basic eDp5', 'User-Agent' => 'x', 'X-Empty' => '']]] as $options) {
        $sink = new AsyncBatch\HttpSink($server->url, $options + ['timeout' => 0.5]);
        $out[] = var_export($sink(ab_tricky_items()), true);
        $server->answer(['status' => 400, 'body' => "no\r\nway"]);
        $server->answer(['status' => 503, 'headers' => ['Retry-After' => '3'], 'body' => '']);
        foreach ([1, 2] as $_) {
            try {
                $sink(['x']);
            } catch (AsyncBatch\HttpSinkException $e) {
                $out[] = $e->getMessage() . ' ' . var_export([$e->isRetryable(), $e->getStatusCode(), $e->getRetryAfter()], true);
            }
        }
    }
    try {
        (new AsyncBatch\HttpSink("http://127.0.0.1:$port/"))(['x']);
    } catch (AsyncBatch\HttpSinkException $e) {
        $out[] = $e->getMessage();
    }
    $server->answer(['status' => 200, 'sleep' => 1.5]);
    try {
        (new AsyncBatch\HttpSink($server->url, ['timeout' => 0.5]))(['x']);
    } catch (AsyncBatch\HttpSinkException $e) {
        $out[] = $e->getMessage();
    }
    usleep(1100000);
    $requests = $server->requests();
    $server = new AbHttpServer(__DIR__ . "/087.http-$transport");
    foreach ($requests as $q) {
        $headers = [];
        foreach (['Content-Type', 'Content-Encoding', 'Content-Length', 'User-Agent', 'Authorization', 'X-Empty'] as $name) {
            $headers[$name] = AbHttpServer::header($q, $name);
        }
        $out[] = $q['method'] . ' ' . $q['uri'] . ' ' . json_encode($headers) . ' ' . sha1($q['body']);
    }
    $result[$transport] = $out;
}
echo implode("\n", $result['curl']), "\n";
echo 'streams: ', $result['streams'] === $result['curl'] ? 'the same' : "differs:\n" . implode("\n", $result['streams']), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['http', 'http-curl', 'http-streams'] as $x) {
    ab_rmrf(__DIR__ . "/087.$x");
}
?>
--EXPECTF--
true
HTTP 400 Bad Request: no way array (
  0 => false,
  1 => 400,
  2 => NULL,
)
HTTP 503 Service Unavailable array (
  0 => true,
  1 => 503,
  2 => 3.0,
)
true
HTTP 400 Bad Request: no way array (
  0 => false,
  1 => 400,
  2 => NULL,
)
HTTP 503 Service Unavailable array (
  0 => true,
  1 => 503,
  2 => 3.0,
)
connection to 127.0.0.1:%d failed: Connection refused
timeout after 0.5s
POST /ingest {"Content-Type":"application\/json","Content-Encoding":null,"Content-Length":"%d","User-Agent":"asyncbatch\/%s","Authorization":null,"X-Empty":null} %x
POST /ingest %s
POST /ingest %s
POST /ingest {"Content-Type":"application\/x-ndjson","Content-Encoding":"gzip","Content-Length":"%d","User-Agent":"x","Authorization":"Basic eDp5","X-Empty":""} %x
POST /ingest %s
POST /ingest %s
POST /ingest %s
streams: the same
