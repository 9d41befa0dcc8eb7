--TEST--
new AsyncBatch\HttpSink() rejects a bad URL, an unknown option and a bad option value, naming it (a URL without its credentials and query values); options are checked in the order given
--FILE--
<?php
function attempt(string $url, array $options = []): void
{
    try {
        new AsyncBatch\HttpSink($url, $options);
        echo "ok\n";
    } catch (InvalidArgumentException $e) {
        // Control characters of the URL shown escaped.
        echo get_class($e), ': ', addcslashes($e->getMessage(), "\0..\37\177"), "\n";
    }
}

echo "-- URLs\n";
foreach ([
    'http://127.0.0.1:8080/ingest?x=1', 'https://logs.example/v1/batch', 'http://[::1]:9000/',
    'http://h/a@b', 'ftp://h/', 'http://', 'h/x', 'http:/h', '', 'http://u:p@h/', 'http://u@h/',
    'http://h/#top', 'http://h/a b', "http://h/\t", "http://h/\x7f", "http://h/\0", 'http://h:99999/',
    'http://h:0/', 'http://h:/', 'http://h:?x', 'https://user:secret@h/v1/logs?api_key=abc&env=prod',
] as $url) {
    attempt($url);
}

echo "-- unknown options\n";
attempt('http://h/', ['nope' => 1]);
attempt('http://h/', ['Format' => 'json']);
attempt('http://h/', ['X-Header: 1']);

echo "-- headers\n";
foreach ([
    'Authorization: x', ['X-A' => 1], ['X-A' => null], ['Bad Name' => 'v'], ['X(y)' => 'v'], ['' => 'v'],
    ['X-A' => "a\r\nX-B: b"], ['X-A' => "a\nb"], ['X-A' => "a\0"], ['Content-Length' => '5'],
    ['host' => 'h'], ['Connection' => 'close'], ['transfer-encoding' => 'chunked'],
    ['Content-Encoding' => 'br'], ['X-Ok' => 'v', 'X-Bad' => false], ['X-Header: 1'],
] as $headers) {
    attempt('http://h/', ['headers' => $headers]);
}

echo "-- format, timeout, gzip\n";
foreach ([
    ['format' => 'xml'], ['format' => 'JSON'], ['format' => null], ['timeout' => 0], ['timeout' => -1.5],
    ['timeout' => '5'], ['timeout' => NAN], ['timeout' => INF], ['timeout' => true], ['gzip' => 1],
    ['gzip' => 'yes'], ['gzip' => null],
] as $options) {
    attempt('http://h/', $options);
}

echo "-- proxy\n";
foreach (['socks5://p:1080', 'https://p:3128', 'http://p', 'http://:3128', 'http://p:0', 'http://p:70000', 'http://p q:1', 3128, null] as $proxy) {
    attempt('http://h/', ['proxy' => $proxy]);
}
attempt('http://h/', ['proxy' => 'p:3128']);
attempt('http://h/', ['proxy' => 'http://user:secret@p:3128']);

echo "-- resource\n";
foreach (['service.name=x', ['service.name' => 1], ['v'], ['' => 'v']] as $resource) {
    attempt('http://h/', ['resource' => $resource]);
}
attempt('http://h/', ['format' => 'otlp', 'resource' => ['service.name' => 'shop', 'service.version' => '1.2']]);

echo "-- job keys\n";
foreach ([
    ['batchSize' => 0], ['batchSize' => '10'], ['callPeriod' => 0], ['callPeriod' => 1e25 * 1e300],
    ['maxRetries' => -1], ['maxRetries' => 1.0], ['retryDelay' => -0.5], ['maxQueueSize' => 1.5],
    ['maxQueueSize' => new ArrayObject()],
] as $options) {
    attempt('http://h/', $options);
}

echo "-- the first bad one is reported\n";
attempt('http://h/', ['format' => 'xml', 'timeout' => 0]);
attempt('http://h/', ['timeout' => 0, 'format' => 'xml']);
attempt('http://h/', ['gzip' => true, 'nope' => 1, 'format' => 'xml']);
attempt('ftp://h/', ['nope' => 1]);

echo "-- every option at once\n";
attempt('https://logs.example/ingest', [
    'headers' => ['Authorization' => 'Bearer t0k3n', 'User-Agent' => 'app/1', 'Content-Type' => 'text/plain', 'X-Empty' => ''],
    'format' => 'ndjson', 'timeout' => 2, 'gzip' => true, 'batchSize' => 500, 'callPeriod' => 0.5,
    'maxRetries' => 0, 'retryDelay' => 0, 'maxQueueSize' => 1,
]);
attempt('http://h/', ['timeout' => 0.001, 'format' => 'json', 'gzip' => false, 'headers' => []]);
?>
--EXPECT--
-- URLs
ok
ok
ok
ok
AsyncBatch\InvalidConfigException: Invalid URL 'ftp://h/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'h/x' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http:/h' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL '' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://***@h/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://***@h/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h/#***' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h/a b' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h/\t' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h/\177' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h/\0' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h:99999/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h:0/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h:/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'http://h:?***' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
AsyncBatch\InvalidConfigException: Invalid URL 'https://***@h/v1/logs?api_key=***&env=***' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
-- unknown options
AsyncBatch\InvalidConfigException: Unknown option 'nope' for AsyncBatch\HttpSink (known options: headers, format, timeout, gzip, caFile, clientCert, clientKey, proxy, resource, idempotencyHeader, maxBatchBytes, batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize)
AsyncBatch\InvalidConfigException: Unknown option 'Format' for AsyncBatch\HttpSink (known options: headers, format, timeout, gzip, caFile, clientCert, clientKey, proxy, resource, idempotencyHeader, maxBatchBytes, batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize)
AsyncBatch\InvalidConfigException: Unknown option '0' for AsyncBatch\HttpSink (known options: headers, format, timeout, gzip, caFile, clientCert, clientKey, proxy, resource, idempotencyHeader, maxBatchBytes, batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize)
-- headers
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got string
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-A'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-A'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'Bad Name'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X(y)'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header ''
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-A'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-A'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-A'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'Content-Length'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'host'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'Connection'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'transfer-encoding'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'Content-Encoding'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 'X-Bad'
AsyncBatch\InvalidConfigException: Option 'headers' of AsyncBatch\HttpSink must be an array of header names to string values, got header 0
-- format, timeout, gzip
AsyncBatch\InvalidConfigException: Option 'format' of AsyncBatch\HttpSink must be 'json', 'ndjson' or 'otlp', got string
AsyncBatch\InvalidConfigException: Option 'format' of AsyncBatch\HttpSink must be 'json', 'ndjson' or 'otlp', got string
AsyncBatch\InvalidConfigException: Option 'format' of AsyncBatch\HttpSink must be 'json', 'ndjson' or 'otlp', got null
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got 0
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got -1.5
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got string
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got NAN
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got INF
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got bool
AsyncBatch\InvalidConfigException: Option 'gzip' of AsyncBatch\HttpSink must be a bool, got 1
AsyncBatch\InvalidConfigException: Option 'gzip' of AsyncBatch\HttpSink must be a bool, got string
AsyncBatch\InvalidConfigException: Option 'gzip' of AsyncBatch\HttpSink must be a bool, got null
-- proxy
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got string
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got 3128
AsyncBatch\InvalidConfigException: Option 'proxy' of AsyncBatch\HttpSink must be an http:// URL with a host and a port, got null
ok
ok
-- resource
AsyncBatch\InvalidConfigException: Option 'resource' of AsyncBatch\HttpSink must be an array of attribute names to string values, got string
AsyncBatch\InvalidConfigException: Option 'resource' of AsyncBatch\HttpSink must be an array of attribute names to string values, got attribute 'service.name'
AsyncBatch\InvalidConfigException: Option 'resource' of AsyncBatch\HttpSink must be an array of attribute names to string values, got attribute 0
AsyncBatch\InvalidConfigException: Option 'resource' of AsyncBatch\HttpSink must be an array of attribute names to string values, got attribute ''
ok
-- job keys
AsyncBatch\InvalidConfigException: Option 'batchSize' of AsyncBatch\HttpSink must be an integer >= 1, got 0
AsyncBatch\InvalidConfigException: Option 'batchSize' of AsyncBatch\HttpSink must be an integer >= 1, got string
AsyncBatch\InvalidConfigException: Option 'callPeriod' of AsyncBatch\HttpSink must be a number > 0, got 0
AsyncBatch\InvalidConfigException: Option 'callPeriod' of AsyncBatch\HttpSink must be a number > 0, got INF
AsyncBatch\InvalidConfigException: Option 'maxRetries' of AsyncBatch\HttpSink must be an integer >= 0, got -1
AsyncBatch\InvalidConfigException: Option 'maxRetries' of AsyncBatch\HttpSink must be an integer >= 0, got 1
AsyncBatch\InvalidConfigException: Option 'retryDelay' of AsyncBatch\HttpSink must be a number >= 0, got -0.5
AsyncBatch\InvalidConfigException: Option 'maxQueueSize' of AsyncBatch\HttpSink must be an integer >= 1, got 1.5
AsyncBatch\InvalidConfigException: Option 'maxQueueSize' of AsyncBatch\HttpSink must be an integer >= 1, got ArrayObject
-- the first bad one is reported
AsyncBatch\InvalidConfigException: Option 'format' of AsyncBatch\HttpSink must be 'json', 'ndjson' or 'otlp', got string
AsyncBatch\InvalidConfigException: Option 'timeout' of AsyncBatch\HttpSink must be a number of seconds > 0, got 0
AsyncBatch\InvalidConfigException: Unknown option 'nope' for AsyncBatch\HttpSink (known options: headers, format, timeout, gzip, caFile, clientCert, clientKey, proxy, resource, idempotencyHeader, maxBatchBytes, batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize)
AsyncBatch\InvalidConfigException: Invalid URL 'ftp://h/' for AsyncBatch\HttpSink: it must be an http:// or https:// URL with a host
-- every option at once
ok
ok
