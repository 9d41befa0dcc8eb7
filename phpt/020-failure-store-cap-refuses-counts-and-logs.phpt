--TEST--
When the failure store would exceed asyncbatch.failure_dir_max_mb, the batch is refused, counted as dropped and logged
--INI--
asyncbatch.spool_dir={PWD}/020.spool
asyncbatch.failure_dir={PWD}/020.failed
error_log={PWD}/020.log
asyncbatch.failure_dir_max_mb=1
--FILE--
<?php
require __DIR__ . '/_child.inc';
$dir = __DIR__ . '/020.failed';
mkdir($dir, 0700);
// 1 MiB already used by stored batches (the cap counts every *.fail file).
file_put_contents("$dir/other.0000000000000001.1.00000000.fail", str_repeat('x', 1048576));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
$r->submitItem('t', 'c');
var_dump($r->flush('t'));
$s = $r->stats()['t'];
echo "failedBatches {$s['failedBatches']}, persisted {$s['persisted']}, dropped {$s['dropped']}\n";
echo $s['lastError'], "\n";
echo implode("\n", ab_log_lines(__DIR__ . '/020.log', 'is full')), "\n";
echo count(ab_ls($dir, '*.fail')), " failure file\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/020.spool');
ab_rmrf(__DIR__ . '/020.failed');
ab_rmrf(__DIR__ . '/020.log');
?>
--EXPECTF--
int(0)
failedBatches 1, persisted 0, dropped 3
asyncbatch: failure store %s/020.failed is full (1048576 of 1048576 bytes used); dropped a failed batch of 3 items for job 't'
asyncbatch: failure store %s/020.failed is full (1048576 of 1048576 bytes used); dropped a failed batch of 3 items for job 't'
1 failure file
