--TEST--
Items a script submits to a sink job and never flushes are posted when it ends, in batches of batchSize, in order
--INI--
asyncbatch.spool_dir={PWD}/088.spool
asyncbatch.failure_dir={PWD}/088.failed
error_log={PWD}/088.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/088.http');
$code = sprintf(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['batchSize' => 4, 'callPeriod' => 60]));
for ($i = 0; $i < 10; $i++) {
    $r->submitItem('logs', ['seq' => $i]);
}
echo "submitted\n";
PHP, var_export($server->url, true));
[$status, $out, $err] = ab_run_php($code);
echo $out, $err, "exit status: $status\n";
foreach ($server->waitRequests(3, 5) as $q) {
    echo '  ', $q['body'], "\n";
}
echo 'spool segments left: ', count(ab_ls(__DIR__ . '/088.spool', '*.seg')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/088.$x");
}
?>
--EXPECT--
submitted
exit status: 0
  [{"seq":0},{"seq":1},{"seq":2},{"seq":3}]
  [{"seq":4},{"seq":5},{"seq":6},{"seq":7}]
  [{"seq":8},{"seq":9}]
spool segments left: 0
