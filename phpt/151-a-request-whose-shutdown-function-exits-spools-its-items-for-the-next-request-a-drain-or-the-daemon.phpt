--TEST--
A request whose own shutdown function calls exit() before asyncbatch's runs (asyncbatch's is put after the application's) loses nothing: its items are spooled at the request's end, and the next process that registers the job, or a drain, delivers them
--INI--
asyncbatch.spool_dir={PWD}/151.spool
asyncbatch.failure_dir={PWD}/151.failed
error_log={PWD}/151.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'child delivered: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('t', 'one');
register_shutdown_function(function () use ($r) {
    $r->submitItem('t', 'two');
    echo "the application's shutdown function exits\n";
    exit(3);
});
PHP);
echo $out, $err, "child exit status: $status\n";
echo count(ab_ls(__DIR__ . '/151.spool', '*.seg')), " segment\n";

$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'next process delivered: ', implode(',', $items), "\n";
    return true;
});
$n = $r->flush('t');
echo "flush(): $n\n";
echo count(ab_ls(__DIR__ . '/151.spool', '*.seg')), " segments\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/151.$x");
}
?>
--EXPECT--
the application's shutdown function exits
child exit status: 3
1 segment
next process delivered: one,two
flush(): 2
0 segments
