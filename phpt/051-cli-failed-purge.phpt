--TEST--
asyncbatch failed:purge deletes the failure files of a job, or all, optionally only older ones
--INI--
asyncbatch.spool_dir={PWD}/051.spool
asyncbatch.failure_dir={PWD}/051.failed
error_log={PWD}/051.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$dir = __DIR__ . '/051.failed';
$r = new AsyncBatchRunner();
foreach (['t', 't', 'u'] as $job) {
    $r->registerAsyncJob($job, fn () => false, ['maxRetries' => 0]);
    $r->submitItem($job, 1);
    $r->flush($job);
}
file_put_contents("$dir/t.0000000000000001.1.00000000.fail", 'corrupt');
foreach ([
    ['failed:purge'],
    ['failed:purge', '--job', 't', '--all'],
    ['failed:purge', '--all', '--older-than', 'soon'],
    ['failed:purge', '--job', 't'],
    ['failed:purge', '--all', '--older-than', '3600'],
    ['failed:purge', '--all'],
] as $args) {
    [$status, $out, $err] = ab_cli($args);
    echo implode(' ', $args), ' => ', $out, $err, "exit status: $status, files left: ", count(ab_ls($dir, '*.fail')), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/051.spool');
ab_rmrf(__DIR__ . '/051.failed');
ab_rmrf(__DIR__ . '/051.log');
?>
--EXPECTF--
failed:purge => asyncbatch: failed:purge needs either --job ID or --all
Run 'asyncbatch help' for usage.
exit status: 2, files left: 4
failed:purge --job t --all => asyncbatch: failed:purge needs either --job ID or --all
Run 'asyncbatch help' for usage.
exit status: 2, files left: 4
failed:purge --all --older-than soon => asyncbatch: --older-than needs a number of seconds, got 'soon'
Run 'asyncbatch help' for usage.
exit status: 2, files left: 4
failed:purge --job t => Purged 2 failed batches from %s/051.failed
exit status: 0, files left: 2
failed:purge --all --older-than 3600 => Purged 0 failed batches from %s/051.failed
exit status: 0, files left: 2
failed:purge --all => Purged 2 failed batches from %s/051.failed
exit status: 0, files left: 0
