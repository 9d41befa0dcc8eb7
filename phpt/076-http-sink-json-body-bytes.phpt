--TEST--
HttpSink posts a batch as a JSON array with exactly the bytes of json_encode($items, F): floats as PHP prints them, NAN and INF as 0, invalid UTF-8 as U+FFFD, slashes and Unicode unescaped
--INI--
asyncbatch.spool_dir={PWD}/076.spool
asyncbatch.failure_dir={PWD}/076.failed
error_log={PWD}/076.log
serialize_precision=17
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/076.http', '/v1/logs?source=phpt');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink($server->url));
$items = ab_tricky_items();
foreach ($items as $item) {
    $r->submitItem('logs', $item);
}
echo 'flush: ', $r->flush('logs'), ' of ', count($items), "\n";
[$q] = $server->requests();
echo $q['method'], ' ', $q['uri'], "\n";
echo 'Content-Type: ', AbHttpServer::header($q, 'Content-Type'), "\n";
echo 'Content-Encoding: ', AbHttpServer::header($q, 'Content-Encoding') ?? '(none)', "\n";
echo 'Content-Length: ', AbHttpServer::header($q, 'Content-Length') === (string) strlen($q['body']) ? 'the body length' : 'wrong', "\n";
echo $q['body'], "\n";
echo strlen($q['body']), ' bytes, sha1 ', sha1($q['body']), "\n";
// serialize_precision=17 in this test's ini: the body does not depend on it.
echo 'the same as json_encode with serialize_precision -1: ';
ini_set('serialize_precision', '-1');
$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
    | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
echo json_encode($items, $flags, 1024) === $q['body'] ? 'yes' : 'no', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/076.$x");
}
?>
--EXPECT--
flush: 33 of 33
POST /v1/logs?source=phpt
Content-Type: application/json
Content-Encoding: (none)
Content-Length: the body length
[1.0,0.1,1.0e+25,-0.0,0,0,1.5e-7,0.0001,1.0e-5,100.0,100000000000000.0,1000000000000000.0,-2.5e-300,0.30000000000000004,9223372036854775807,-9223372036854775808,0,-1,true,false,null,"bad��utf8 �","\u2028\u2029","a/b</script>","ctl\u0000\u0001\b\f\u001f\t\n\r\"\\","é漢😀","",[],{"x":[]},{"5":"five","k":true,"0":null},{"1":"a","2":"b"},{"12":"int key","1.5":"string key","":"empty key"},{"nested":{"list":[1,[2,[3.25,[]]]],"map":{"a":{"b":"c�"}}},"k�ey":1}]
472 bytes, sha1 da10ddbdd29a29c67c96acb098c35d2907999c07
the same as json_encode with serialize_precision -1: yes
