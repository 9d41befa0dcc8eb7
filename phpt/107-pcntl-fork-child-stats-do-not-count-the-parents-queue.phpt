--TEST--
After pcntl_fork() the child's stats() count none of the parent's queued items as its own, even before the child calls anything else
--DESCRIPTION--
The child will never deliver what its parent queued (the parent does), so its
stats() must not count it as queued, even before its first submitItem()/flush().
--SKIPIF--
<?php if (!function_exists('pcntl_fork')) die('skip pcntl_fork() is not available'); ?>
--INI--
asyncbatch.spool_dir={PWD}/107.spool
asyncbatch.failure_dir={PWD}/107.failed
error_log={PWD}/107.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('j', fn (array $items) => true, ['batchSize' => 100, 'callPeriod' => 3600]);
for ($i = 0; $i < 5; $i++) {
    $r->submitItem('j', "p$i");
}
$pid = pcntl_fork();
if ($pid === 0) {
    echo 'child, first call: queued ', $r->stats()['j']['queued'], "\n";
    $r->submitItem('j', 'c0');
    echo 'child, after its submit: queued ', $r->stats()['j']['queued'], "\n";
    exit(0);
}
pcntl_waitpid($pid, $status);
echo 'parent: queued ', $r->stats()['j']['queued'], "\n";
PHP);
echo $out, $err, "exit status: $status\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/107.$x");
}
?>
--EXPECT--
child, first call: queued 0
child, after its submit: queued 1
parent: queued 5
exit status: 0
