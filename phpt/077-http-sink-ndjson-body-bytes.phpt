--TEST--
HttpSink with format ndjson posts one json_encode($item, F) per item, each followed by a line feed, as application/x-ndjson
--INI--
asyncbatch.spool_dir={PWD}/077.spool
asyncbatch.failure_dir={PWD}/077.failed
error_log={PWD}/077.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/077.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink($server->url, ['format' => 'ndjson']));
$items = ab_tricky_items();
foreach ($items as $item) {
    $r->submitItem('logs', $item);
}
echo 'flush: ', $r->flush('logs'), ' of ', count($items), "\n";
[$q] = $server->requests();
echo 'Content-Type: ', AbHttpServer::header($q, 'Content-Type'), "\n";
echo 'ends with a line feed: ', str_ends_with($q['body'], "\n") ? 'yes' : 'no', "\n";
echo 'lines: ', substr_count($q['body'], "\n"), "\n";
echo $q['body'];
echo strlen($q['body']), ' bytes, sha1 ', sha1($q['body']), "\n";
$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
    | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
$expected = '';
foreach ($items as $item) {
    $expected .= json_encode($item, $flags, 1024) . "\n";
}
echo 'the same as json_encode per item: ', $expected === $q['body'] ? 'yes' : 'no', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/077.$x");
}
?>
--EXPECT--
flush: 33 of 33
Content-Type: application/x-ndjson
ends with a line feed: yes
lines: 33
1.0
0.1
1.0e+25
-0.0
0
0
1.5e-7
0.0001
1.0e-5
100.0
100000000000000.0
1000000000000000.0
-2.5e-300
0.30000000000000004
9223372036854775807
-9223372036854775808
0
-1
true
false
null
"bad��utf8 �"
"\u2028\u2029"
"a/b</script>"
"ctl\u0000\u0001\b\f\u001f\t\n\r\"\\"
"é漢😀"
""
[]
{"x":[]}
{"5":"five","k":true,"0":null}
{"1":"a","2":"b"}
{"12":"int key","1.5":"string key","":"empty key"}
{"nested":{"list":[1,[2,[3.25,[]]]],"map":{"a":{"b":"c�"}}},"k�ey":1}
471 bytes, sha1 5733c4855d4f17430e4d8d5449528d76121e461d
the same as json_encode per item: yes
