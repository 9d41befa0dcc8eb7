--TEST--
asyncbatch --failure-dir DIR overrides the asyncbatch.failure_dir setting
--INI--
asyncbatch.spool_dir={PWD}/057.spool
asyncbatch.failure_dir={PWD}/057.failed
error_log={PWD}/057.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$other = __DIR__ . '/057.other';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'x');
$r->flush('t');
rename(__DIR__ . '/057.failed', $other);
[$status, $out] = ab_cli(['failed:list']);
echo $out;
[$status, $out] = ab_cli(['failed:list', '--failure-dir', $other]);
echo substr_count($out, '.fail'), ' file, ', strstr($out, '1 failed batch');
file_put_contents(__DIR__ . '/057.bootstrap.php', '<?php (new AsyncBatchRunner())->registerAsyncJob("t", function (array $i) { echo "replayed ", implode(",", $i), "\n"; return true; });');
[$status, $out, $err] = ab_cli(['failed:retry', '--failure-dir=' . $other, '--bootstrap', __DIR__ . '/057.bootstrap.php']);
echo $out, $err;
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/057.spool');
ab_rmrf(__DIR__ . '/057.failed');
ab_rmrf(__DIR__ . '/057.log');
ab_rmrf(__DIR__ . '/057.other');
@unlink(__DIR__ . '/057.bootstrap.php');
?>
--EXPECTF--
0 failed batches, 0 items in %s/057.failed
1 file, 1 failed batch, 1 item in %s/057.other
replayed x
Delivered 1 item; 0 failed batches still stored in %s/057.other
