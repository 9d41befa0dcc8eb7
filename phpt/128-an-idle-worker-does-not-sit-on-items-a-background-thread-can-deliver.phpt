--TEST--
An idle long-running worker, which calls neither endRequest() nor flush(), does not sit on items a background thread can deliver: an HttpSink job's batch is posted once callPeriod passes, and the daemon runner hands items off
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill has no background thread: an idle worker delivers at its next request (phpt 127)');
?>
--INI--
asyncbatch.spool_dir={PWD}/128.spool
asyncbatch.failure_dir={PWD}/128.failed
error_log={PWD}/128.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/128.http');

echo "HttpSink, callPeriod 0.5 s, batchSize 100:\n";
// The child submits, then idles as a worker between requests does, until the
// batch reached the server (at most 10 s), and says what it saw.
[$status, $out, $err] = ab_run_php(sprintf(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['batchSize' => 100, 'callPeriod' => 0.5]));
$t = microtime(true);
foreach (['a', 'b', 'c'] as $item) {
    $r->submitItem('logs', $item);
}
$log = %s;
for ($i = 0; $i < 1000 && !(is_file($log) && filesize($log) > 0); $i++) {
    usleep(10000);
}
$took = microtime(true) - $t;
echo '  posted while the worker was idle: ', is_file($log) && filesize($log) > 0 ? 'yes' : 'no', "\n";
echo '  not before callPeriod: ', $took >= 0.3 ? 'yes' : sprintf('no (%%.2f s)', $took), "\n";
PHP, var_export($server->url, true), var_export($server->dir . '/requests.jsonl', true)));
echo $out, $err, "  exit status: $status\n";
foreach ($server->requests() as $q) {
    echo '  ', $q['body'], "\n";
}

echo "the daemon runner (spool transport):\n";
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items): bool {
    echo "the callable was called\n";
    return true;
}, ['batchSize' => 100, 'callPeriod' => 0.5]);
foreach (['d1', 'd2', 'd3'] as $item) {
    $r->submitItem('t', $item);
}
for ($i = 0; $i < 1000 && $r->stats()['t']['queued'] > 0; $i++) {
    usleep(10000);
}
echo '  handed off while the worker was idle: ', $r->stats()['t']['queued'] === 0 ? 'yes' : 'no', "\n";
PHP, ['asyncbatch.runner' => 'daemon', 'asyncbatch.transport' => 'spool']);
echo $out, $err, "  exit status: $status\n";
// A reader with the shutdown runner delivers what waits in the spool.
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items): bool {
    echo '  delivered: ', implode(', ', $items), "\n";
    return true;
});
$r->flush('t');
PHP);
echo $out, $err, "  exit status: $status\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/128.$x");
}
?>
--EXPECT--
HttpSink, callPeriod 0.5 s, batchSize 100:
  posted while the worker was idle: yes
  not before callPeriod: yes
  exit status: 0
  ["a","b","c"]
the daemon runner (spool transport):
  handed off while the worker was idle: yes
  exit status: 0
  delivered: d1, d2, d3
  exit status: 0
