--TEST--
After pcntl_fork() the child delivers only what it submits itself: the parent's queued items are delivered once, by the parent, and neither process hangs at exit
--SKIPIF--
<?php if (!function_exists('pcntl_fork')) die('skip pcntl_fork() is not available'); ?>
--INI--
asyncbatch.spool_dir={PWD}/105.spool
asyncbatch.failure_dir={PWD}/105.failed
error_log={PWD}/105.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_time.inc';
$spool = __DIR__ . '/105.spool';
$batches = __DIR__ . '/105.batches';

// The script run in a process of its own: the parent queues p0..p4 (nothing is due:
// callPeriod is an hour), forks, waits for the child, submits p5 and ends; its
// shutdown function delivers. %CHILD% is what the child does before exit(0).
$template = <<<'PHP'
<?php
$log = %LOG%;
$parent = getmypid();
$r = new AsyncBatchRunner();
$r->registerAsyncJob('j', function (array $items) use ($log, $parent) {
    $who = getmypid() === $parent ? 'parent' : 'child';
    file_put_contents($log, "$who: " . implode(',', $items) . "\n", FILE_APPEND | LOCK_EX);
    return true;
}, ['batchSize' => %BATCH%, 'callPeriod' => 3600]);
for ($i = 0; $i < 5; $i++) {
    $r->submitItem('j', "p$i");
}
$pid = pcntl_fork();
if ($pid === -1) {
    exit("fork failed\n");
}
if ($pid === 0) {
    %CHILD%
    exit(0);
}
pcntl_waitpid($pid, $status);
echo 'parent: the child exited with ', pcntl_wexitstatus($status), "\n";
$r->submitItem('j', 'p5');
PHP;

function scenario(string $title, string $template, int $batch, string $child, array $expected): void
{
    global $spool, $batches;
    echo "== $title\n";
    @unlink($batches);
    $code = strtr($template, [
        '%LOG%' => var_export($batches, true),
        '%BATCH%' => (string) $batch,
        '%CHILD%' => $child,
    ]);
    $t = microtime(true);
    [$status, $out, $err] = ab_run_php($code);
    $elapsed = microtime(true) - $t;
    echo $out, $err, "exit status: $status\n";
    // A hang, or a wait for the job's callPeriod, would take a minute or more.
    $ok = ab_under($elapsed, 10, "both exited: $title");
    echo 'both exited within 10 s: ', $ok ? 'yes' : sprintf('no (%.1f s)', $elapsed), "\n";

    $lines = is_file($batches) ? file($batches, FILE_IGNORE_NEW_LINES) : [];
    sort($lines);
    echo "batches:\n";
    foreach ($lines as $line) {
        echo "  $line\n";
    }
    $counts = [];
    foreach ($lines as $line) {
        foreach (explode(',', substr($line, strpos($line, ': ') + 2)) as $item) {
            $counts[$item] = ($counts[$item] ?? 0) + 1;
        }
    }
    $wrong = [];
    foreach ($expected as $item) {
        if (($counts[$item] ?? 0) !== 1) {
            $wrong[] = $item . ' x' . ($counts[$item] ?? 0);
        }
    }
    foreach (array_diff(array_keys($counts), $expected) as $item) {
        $wrong[] = "$item (not submitted)";
    }
    echo 'every item exactly once: ', $wrong === [] ? 'yes' : 'no: ' . implode(', ', $wrong), "\n";
    echo 'files left in the spool: ', json_encode(ab_ls($spool)), "\n";
}

$parents = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];

scenario('the child submits c0 and exits', $template, 100, <<<'PHP'
    $r->submitItem('j', 'c0');
    echo "child: submitted c0\n";
PHP, [...$parents, 'c0']);

scenario('the child submits nothing and exits', $template, 100, <<<'PHP'
    echo "child: exits\n";
PHP, $parents);

// batchSize 6: with the 5 inherited items, the child's first submit would make a
// batch due in submitItem(); its own 6 items make one.
scenario("the child's submits fill a batch, delivered in submitItem()", $template, 6, <<<'PHP'
    for ($i = 0; $i < 6; $i++) {
        $r->submitItem('j', "c$i");
    }
    echo 'child: submitted c0..c5, queued now: ', $r->stats()['j']['queued'], "\n";
PHP, [...$parents, 'c0', 'c1', 'c2', 'c3', 'c4', 'c5']);

scenario('the child flushes', $template, 100, <<<'PHP'
    $r->submitItem('j', 'c0');
    echo 'child: flush() delivered ', $r->flush('j'), "\n";
PHP, [...$parents, 'c0']);

// A callable that forks while it delivers a batch in submitItem(), and whose child
// exits there: the batches in flight are journaled, p4 is still queued; the child's
// shutdown function must deliver none of them, nor touch the parent's journal.
$forkInCallable = <<<'PHP'
<?php
$log = %LOG%;
$parent = getmypid();
$forked = false;
$r = new AsyncBatchRunner();
$f = function (array $items) use ($log, $parent, &$forked) {
    if (!$forked) {
        $forked = true;
        $pid = pcntl_fork();
        if ($pid === 0) {
            exit(0);
        }
        pcntl_waitpid($pid, $status);
        echo 'parent: the child forked in the callable exited with ', pcntl_wexitstatus($status), "\n";
    }
    $who = getmypid() === $parent ? 'parent' : 'child';
    file_put_contents($log, "$who: " . implode(',', $items) . "\n", FILE_APPEND | LOCK_EX);
    return true;
};
$r->registerAsyncJob('j', $f, ['batchSize' => 100, 'callPeriod' => 3600]);
for ($i = 0; $i < 4; $i++) {
    $r->submitItem('j', "p$i");
}
// 5 queued with a batchSize of %BATCH%: p0..p3 are delivered now, p4 stays queued.
$r->registerAsyncJob('j', $f, ['batchSize' => %BATCH%, 'callPeriod' => 3600]);
$r->submitItem('j', 'p4');
%CHILD%
PHP;
scenario('a callable forks and its child exits in it', $forkInCallable, 2, '', ['p0', 'p1', 'p2', 'p3', 'p4']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'batches'] as $x) {
    ab_rmrf(__DIR__ . "/105.$x");
}
?>
--EXPECT--
== the child submits c0 and exits
child: submitted c0
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
batches:
  child: c0
  parent: p0,p1,p2,p3,p4,p5
every item exactly once: yes
files left in the spool: []
== the child submits nothing and exits
child: exits
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
batches:
  parent: p0,p1,p2,p3,p4,p5
every item exactly once: yes
files left in the spool: []
== the child's submits fill a batch, delivered in submitItem()
child: submitted c0..c5, queued now: 0
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
batches:
  child: c0,c1,c2,c3,c4,c5
  parent: p0,p1,p2,p3,p4,p5
every item exactly once: yes
files left in the spool: []
== the child flushes
child: flush() delivered 1
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
batches:
  child: c0
  parent: p0,p1,p2,p3,p4,p5
every item exactly once: yes
files left in the spool: []
== a callable forks and its child exits in it
parent: the child forked in the callable exited with 0
exit status: 0
both exited within 10 s: yes
batches:
  parent: p0,p1
  parent: p2,p3
  parent: p4
every item exactly once: yes
files left in the spool: []
