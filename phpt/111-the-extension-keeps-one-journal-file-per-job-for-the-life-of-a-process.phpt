--TEST--
The extension journals every delivery run of a job into one file for the life of the process: the same .part, holding the items while the callable runs and only the header between runs; it is removed when the process exits
--DESCRIPTION--
Writing over one file costs a request a write, where a new file per run costs a
create and an unlink in the spool directory. The polyfill makes a new file per run.
--SKIPIF--
<?php if (!extension_loaded('asyncbatch')) die('skip the polyfill makes a new journal file per run'); ?>
--INI--
asyncbatch.spool_dir={PWD}/111.spool
asyncbatch.failure_dir={PWD}/111.failed
error_log={PWD}/111.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/111.spool';
[$status, $out, $err] = ab_run_php(sprintf(<<<'PHP'
<?php
$spool = %s;
$parts = function () use ($spool): string {
    $out = [];
    foreach (glob("$spool/*.part") as $p) {
        clearstatcache();
        $out[] = preg_replace('/^t\.\d+\.\d+\./', 't.{micros}.{pid}.', basename($p)) . (filesize($p) > 8 ? ' holding items' : ' header only');
    }
    return implode(', ', $out) ?: 'none';
};
$names = [];
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) use ($parts, $spool, &$names) {
    $names = array_merge($names, array_map('basename', glob("$spool/*.part")));
    echo 'delivering ', implode(',', $items), ': ', $parts(), "\n";
    return true;
});
foreach ([['a', 'b'], ['c'], ['d', 'e', 'f']] as $run) {
    foreach ($run as $item) {
        $r->submitItem('t', $item);
    }
    $r->flush('t');
    echo 'after the run: ', $parts(), "\n";
}
echo 'one file for every run: ', count(array_unique($names)) === 1 ? 'yes' : json_encode($names), "\n";
PHP, var_export($spool, true)));
echo $out, $err, "exit status: $status\n";
echo 'left in the spool after the process: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/111.$x");
}
?>
--EXPECT--
delivering a,b: t.{micros}.{pid}.1.part holding items
after the run: t.{micros}.{pid}.1.part header only
delivering c: t.{micros}.{pid}.1.part holding items
after the run: t.{micros}.{pid}.1.part header only
delivering d,e,f: t.{micros}.{pid}.1.part holding items
after the run: t.{micros}.{pid}.1.part header only
one file for every run: yes
exit status: 0
left in the spool after the process: []
