--TEST--
An item submitted from a destructor after delivery is not lost: it is spooled and delivered by the next process that registers the job
--INI--
asyncbatch.spool_dir={PWD}/016.spool
asyncbatch.failure_dir={PWD}/016.failed
error_log={PWD}/016.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
final class Late
{
    public function __destruct()
    {
        (new AsyncBatchRunner())->submitItem('t', 'from a destructor');
        echo "destructor ran\n";
    }
}
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'child delivered: ', implode(',', $items), "\n";
    return true;
});
$late = new Late();
$r->submitItem('t', 'normal');
PHP);
echo $out, $err, "child exit status: $status\n";
echo count(ab_ls(__DIR__ . '/016.spool', '*.seg')), " segment\n";

$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'parent delivered: ', implode(',', $items), "\n";
    return true;
});
var_dump($r->flush('t'));
echo count(ab_ls(__DIR__ . '/016.spool', '*.seg')), " segments\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/016.spool');
ab_rmrf(__DIR__ . '/016.failed');
ab_rmrf(__DIR__ . '/016.log');
?>
--EXPECT--
child delivered: normal
destructor ran
child exit status: 0
1 segment
parent delivered: from a destructor
int(1)
0 segments
