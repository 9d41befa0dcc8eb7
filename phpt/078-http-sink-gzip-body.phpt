--TEST--
HttpSink with gzip compresses the body and says so with Content-Encoding: gzip; it decodes to the same bytes
--INI--
asyncbatch.spool_dir={PWD}/078.spool
asyncbatch.failure_dir={PWD}/078.failed
error_log={PWD}/078.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/078.http');
$r = new AsyncBatchRunner();
$items = ab_tricky_items();
$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
    | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
$ndjson = '';
foreach ($items as $item) {
    $ndjson .= json_encode($item, $flags, 1024) . "\n";
}
$plain = ['json' => json_encode($items, $flags, 1024), 'ndjson' => $ndjson];
foreach (['json', 'ndjson'] as $format) {
    $r->registerAsyncJob($format, new AsyncBatch\HttpSink($server->url, ['format' => $format, 'gzip' => true]));
    foreach ($items as $item) {
        $r->submitItem($format, $item);
    }
    echo "$format: flush ", $r->flush($format), "\n";
    $requests = $server->requests();
    $q = end($requests);
    echo '  Content-Encoding: ', AbHttpServer::header($q, 'Content-Encoding'), "\n";
    echo '  Content-Length is the compressed length: ', AbHttpServer::header($q, 'Content-Length') === (string) strlen($q['body']) ? 'yes' : 'no', "\n";
    echo '  gzip magic: ', bin2hex(substr($q['body'], 0, 2)), "\n";
    echo '  decodes to the plain body: ', gzdecode($q['body']) === $plain[$format] ? 'yes' : 'no', "\n";
    echo '  smaller than the plain body: ', strlen($q['body']) < strlen($plain[$format]) ? 'yes' : 'no', "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/078.$x");
}
?>
--EXPECT--
json: flush 33
  Content-Encoding: gzip
  Content-Length is the compressed length: yes
  gzip magic: 1f8b
  decodes to the plain body: yes
  smaller than the plain body: yes
ndjson: flush 33
  Content-Encoding: gzip
  Content-Length is the compressed length: yes
  gzip magic: 1f8b
  decodes to the plain body: yes
  smaller than the plain body: yes
