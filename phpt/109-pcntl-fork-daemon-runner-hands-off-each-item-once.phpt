--TEST--
The daemon runner across pcntl_fork(): the parent's sender thread is waiting when it forks; the child starts its own and hands off only its own items, the parent the rest, each once
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill has no daemon runner');
if (!function_exists('pcntl_fork')) die('skip pcntl_fork() is not available');
?>
--INI--
asyncbatch.spool_dir={PWD}/109.spool
asyncbatch.failure_dir={PWD}/109.failed
error_log={PWD}/109.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_time.inc';
// The spool transport: no SysV queue is involved; what is handed off waits in
// the spool for a reader.
$ini = ['asyncbatch.runner' => 'daemon', 'asyncbatch.transport' => 'spool'];
$t = microtime(true);
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) { echo "the callable was called\n"; return true; });
foreach (['p1', 'p2', 'p3'] as $item) {
    $r->submitItem('t', $item);
}
// flush() returns what was submitted since the last flush, all handed off now
// (the sender thread, woken by the first submit, may have taken some first).
$n = $r->flush('t');
echo 'parent: flush() handed off what was queued: ', $n === 3 && $r->stats()['t']['queued'] === 0 ? 'yes' : "no ($n)", "\n";
usleep(20000); // its sender thread is waiting now
$r->submitItem('t', 'p4');
$pid = pcntl_fork();
if ($pid === -1) {
    exit("fork failed\n");
}
if ($pid === 0) {
    foreach (['c1', 'c2'] as $item) {
        $r->submitItem('t', $item);
    }
    $n = $r->flush('t');
    echo 'child: flush() handed off what was queued: ', $n === 2 && $r->stats()['t']['queued'] === 0 ? 'yes' : "no ($n)", "\n";
    $r->submitItem('t', 'c3');
    exit(0);
}
pcntl_waitpid($pid, $status);
echo 'parent: the child exited with ', pcntl_wexitstatus($status), "\n";
$r->submitItem('t', 'p5');
PHP, $ini);
echo $out, $err, "exit status: $status\n";
// A hang would last until the test's timeout; a wait for the sender, exit_timeout (1 s).
$took = microtime(true) - $t;
echo 'both exited within 10 s: ', ab_under($took, 10, 'both exited') ? 'yes' : sprintf('no (%.1f s)', $took), "\n";

// A reader with the shutdown runner delivers what waits in the spool.
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$seen = [];
$r->registerAsyncJob('t', function (array $items) use (&$seen) {
    array_push($seen, ...$items);
    return true;
});
$r->flush('t');
$counts = array_count_values($seen);
ksort($counts);
echo 'delivered: ', implode(',', array_keys($counts)), "\n";
echo 'each once: ', max($counts) === 1 ? 'yes' : json_encode($counts), "\n";
PHP);
echo $out, $err, "exit status: $status\n";
echo 'files left in the spool: ', json_encode(ab_ls(__DIR__ . '/109.spool')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/109.$x");
}
?>
--EXPECT--
parent: flush() handed off what was queued: yes
child: flush() handed off what was queued: yes
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
delivered: c1,c2,c3,p1,p2,p3,p4,p5
each once: yes
exit status: 0
files left in the spool: []
