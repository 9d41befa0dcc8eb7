--TEST--
HttpSink sends User-Agent asyncbatch/{version} and the headers option, which adds headers (Authorization) and replaces User-Agent and Content-Type whatever their case
--INI--
asyncbatch.spool_dir={PWD}/079.spool
asyncbatch.failure_dir={PWD}/079.failed
error_log={PWD}/079.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/079.http');
$r = new AsyncBatchRunner();
$sinks = [
    'defaults' => [],
    'added' => ['headers' => ['Authorization' => 'Bearer s3cr3t', 'X-Tenant' => 'acme', 'X-Empty' => '']],
    'replaced' => ['format' => 'ndjson', 'headers' => ['user-agent' => 'app/2.1', 'CONTENT-TYPE' => 'application/vnd.acme+json']],
];
foreach ($sinks as $job => $options) {
    $r->registerAsyncJob($job, new AsyncBatch\HttpSink($server->url, $options));
    $r->submitItem($job, ['job' => $job]);
    $r->flush($job);
}
foreach ($server->requests() as $i => $q) {
    echo array_keys($sinks)[$i], ":\n";
    $ua = AbHttpServer::header($q, 'User-Agent');
    echo '  User-Agent: ', preg_match('~^asyncbatch/[0-9]+\.[0-9]+\.[0-9]+~', $ua) ? 'asyncbatch/{version}' : $ua, "\n";
    foreach (['Content-Type', 'Authorization', 'X-Tenant', 'X-Empty'] as $name) {
        $v = AbHttpServer::header($q, $name);
        if ($v !== null) {
            echo "  $name: '$v'\n";
        }
    }
    echo '  body: ', $q['body'];
    echo "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/079.$x");
}
?>
--EXPECT--
defaults:
  User-Agent: asyncbatch/{version}
  Content-Type: 'application/json'
  body: [{"job":"defaults"}]
added:
  User-Agent: asyncbatch/{version}
  Content-Type: 'application/json'
  Authorization: 'Bearer s3cr3t'
  X-Tenant: 'acme'
  X-Empty: ''
  body: [{"job":"added"}]
replaced:
  User-Agent: app/2.1
  Content-Type: 'application/vnd.acme+json'
  body: {"job":"replaced"}
