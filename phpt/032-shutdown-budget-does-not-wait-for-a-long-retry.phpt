--TEST--
At shutdown a retry whose delay would overrun the budget is not waited for: the batch is spooled, not stored as failed
--INI--
asyncbatch.spool_dir={PWD}/032.spool
asyncbatch.failure_dir={PWD}/032.failed
error_log={PWD}/032.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_time.inc';
$start = microtime(true);
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo "call\n";
    return false;
}, ['maxRetries' => 3, 'retryDelay' => 20]);
$r->submitItem('t', 'keep me');
PHP, ['asyncbatch.shutdown_budget' => '1']);
echo $out, $err, "child exit status: $status\n";
// The retry would come after 20 s: well under that, on a loaded machine too.
$took = microtime(true) - $start;
echo 'child took under 10 s: ', ab_under($took, 10, 'the child ended') ? 'yes' : sprintf('no (%.1f s)', $took), "\n";
echo count(ab_ls(__DIR__ . '/032.spool', '*.seg')), ' segment, ', count(ab_ls(__DIR__ . '/032.failed', '*.fail')), " failure files\n";
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'later: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/032.spool');
ab_rmrf(__DIR__ . '/032.failed');
ab_rmrf(__DIR__ . '/032.log');
?>
--EXPECT--
call
child exit status: 0
child took under 10 s: yes
1 segment, 0 failure files
later: keep me
int(1)
