--TEST--
At shutdown, what a callable submits goes to a job whose turn is still to come, or, for its own job, waits in the spool for the next process (a callable that always submits cannot keep delivery going)
--INI--
asyncbatch.spool_dir={PWD}/108.spool
asyncbatch.failure_dir={PWD}/108.failed
error_log={PWD}/108.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$calls = 0;
$r->registerAsyncJob('first', function (array $items) use ($r, &$calls) {
    $calls++;
    echo 'child first: ', implode(',', $items), "\n";
    $r->submitItem('first', "again$calls");
    $r->submitItem('second', "from first $calls");
    return true;
});
$r->registerAsyncJob('second', function (array $items) {
    echo 'child second: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('first', 'f1');
$r->submitItem('second', 's1');
PHP);
echo $out, $err, "child exit status: $status\n";

$r = new AsyncBatchRunner();
foreach (['first', 'second'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job) {
        echo "next $job: ", implode(',', $items), "\n";
        return true;
    });
}
var_dump($r->flush());
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/108.$x");
}
?>
--EXPECT--
child first: f1
child second: s1
child second: from first 1
child exit status: 0
next first: again1
int(1)
