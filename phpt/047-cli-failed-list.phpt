--TEST--
asyncbatch failed:list shows one line per failure file (corrupt ones marked) and a total
--INI--
asyncbatch.spool_dir={PWD}/047.spool
asyncbatch.failure_dir={PWD}/047.failed
error_log={PWD}/047.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 1, 'retryDelay' => 0]);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
$r->flush('t');
$long = 'Connection refused by the collector at https://collector.example.com:4318/v1/logs END-OF-MESSAGE';
$r->registerAsyncJob('x y', function () use ($long) {
    throw new RuntimeException($long);
}, ['maxRetries' => 0]);
$r->submitItem('x y', 'c');
$r->flush('x y');
file_put_contents(__DIR__ . '/047.failed/t.0000000000000001.1.00000000.fail', 'not a failure file');
[$status, $out, $err] = ab_cli(['failed:list']);
echo $out, $err, "exit status: $status\n";
echo str_contains($out, 'END-OF-MESSAGE') ? "lastError not cut\n" : "lastError cut\n";
[$status, $out, $err] = ab_cli(['failed:list', '--job', 'x y']);
echo $out, $err, "exit status: $status\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/047.spool');
ab_rmrf(__DIR__ . '/047.failed');
ab_rmrf(__DIR__ . '/047.log');
?>
--EXPECTF--
NAME%sJOB%sITEMS%sATTEMPTS%sFAILED AT%sLAST ERROR
t.0000000000000001.1.00000000.fail%s(corrupt: bad magic)
t.%d.%d.%x.fail%st%s2%s2%s%d-%d-%dT%d:%d:%d+00:00%scallable returned false
x%20y.%d.%d.%x.fail%sx y%s1%s1%s%d-%d-%dT%d:%d:%d+00:00%sRuntimeException: Connection refused by the collector at ...
3 failed batches, 3 items (1 corrupt file) in %s/047.failed
exit status: 0
lastError cut
NAME%sJOB%sITEMS%sATTEMPTS%sFAILED AT%sLAST ERROR
x%20y.%d.%d.%x.fail%sx y%s1%s1%s%d-%d-%dT%d:%d:%d+00:00%sRuntimeException: Connection refused by the collector at ...
1 failed batch, 1 item in %s/047.failed
exit status: 0
