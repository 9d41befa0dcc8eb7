--TEST--
A callable that throws at shutdown is retried, the batch stored, and the script exits 0 without a fatal error
--INI--
asyncbatch.spool_dir={PWD}/005.spool
asyncbatch.failure_dir={PWD}/005.failed
error_log={PWD}/005.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo "call\n";
    throw new RuntimeException('boom');
}, ['maxRetries' => 1, 'retryDelay' => 0]);
$r->submitItem('t', 'x');
echo "end of script\n";
PHP);
echo $out;
echo 'stderr: ', $err === '' ? '(empty)' : $err, "\n";
echo "exit status: $status\n";
echo count(ab_ls(__DIR__ . '/005.failed', '*.fail')), " failure file\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/005.spool');
ab_rmrf(__DIR__ . '/005.failed');
ab_rmrf(__DIR__ . '/005.log');
?>
--EXPECT--
end of script
call
call
stderr: (empty)
exit status: 0
1 failure file
