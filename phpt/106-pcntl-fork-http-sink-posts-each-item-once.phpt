--TEST--
An HttpSink job across pcntl_fork(): the parent posts its items, the child only its own, each arrives once, and both processes exit within a few seconds
--SKIPIF--
<?php if (!function_exists('pcntl_fork')) die('skip pcntl_fork() is not available'); ?>
--INI--
asyncbatch.spool_dir={PWD}/106.spool
asyncbatch.failure_dir={PWD}/106.failed
error_log={PWD}/106.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_time.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/106.http');
$spool = __DIR__ . '/106.spool';

// The parent queues its items (nothing is due: callPeriod is a minute), forks,
// waits for the child and ends. %BEFORE% runs before the fork, %CHILD% in the
// child before exit(0).
$template = sprintf(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['batchSize' => 100, 'callPeriod' => 60, 'timeout' => 2]));
%%BEFORE%%
for ($i = 1; $i <= 4; $i++) {
    $r->submitItem('logs', "p$i");
}
$pid = pcntl_fork();
if ($pid === -1) {
    exit("fork failed\n");
}
if ($pid === 0) {
    %%CHILD%%
    exit(0);
}
pcntl_waitpid($pid, $status);
echo 'parent: the child exited with ', pcntl_wexitstatus($status), "\n";
PHP, var_export($server->url, true));

function scenario(AbHttpServer $server, string $title, string $template, string $before, string $child, array $expected): void
{
    global $spool;
    echo "== $title\n";
    $seen = count($server->requests());
    $t = microtime(true);
    [$status, $out, $err] = ab_run_php(strtr($template, ['%BEFORE%' => $before, '%CHILD%' => $child]));
    $elapsed = microtime(true) - $t;
    echo $out, $err, "exit status: $status\n";
    // A hang, or a wait for the job's callPeriod, would take a minute or more.
    $ok = ab_under($elapsed, 10, "both exited: $title");
    echo 'both exited within 10 s: ', $ok ? 'yes' : sprintf('no (%.1f s)', $elapsed), "\n";

    $counts = [];
    foreach (array_slice($server->requests(), $seen) as $q) {
        if ($q['status'] === 200) {
            foreach (json_decode($q['body'], true) as $item) {
                $counts[$item] = ($counts[$item] ?? 0) + 1;
            }
        }
    }
    ksort($counts);
    echo 'received: ', implode(',', array_keys($counts)), "\n";
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

$parents = ['p1', 'p2', 'p3', 'p4'];

scenario($server, 'the child submits its own items', $template, '', <<<'PHP'
    foreach (['c1', 'c2', 'c3'] as $item) {
        $r->submitItem('logs', $item);
    }
PHP, [...$parents, 'c1', 'c2', 'c3']);

scenario($server, 'the child submits nothing', $template, '', '', $parents);

// The parent has posted before it forks: its sender (extension) or its curl
// connection (polyfill) is in use, and the child must not share it.
scenario($server, 'the parent posted before the fork', $template, <<<'PHP'
$r->submitItem('logs', 'p0');
echo 'parent: flush() delivered ', $r->flush('logs'), "\n";
PHP, <<<'PHP'
    $r->submitItem('logs', 'c1');
    echo 'child: flush() delivered ', $r->flush('logs'), "\n";
    $r->submitItem('logs', 'c2');
PHP, ['p0', ...$parents, 'c1', 'c2']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/106.$x");
}
?>
--EXPECT--
== the child submits its own items
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
received: c1,c2,c3,p1,p2,p3,p4
every item exactly once: yes
files left in the spool: []
== the child submits nothing
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
received: p1,p2,p3,p4
every item exactly once: yes
files left in the spool: []
== the parent posted before the fork
parent: flush() delivered 1
child: flush() delivered 1
parent: the child exited with 0
exit status: 0
both exited within 10 s: yes
received: c1,c2,p0,p1,p2,p3,p4
every item exactly once: yes
files left in the spool: []
