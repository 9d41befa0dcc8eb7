--TEST--
A callable that dies of a fatal error mid-batch (memory_limit at shutdown, max_execution_time in submitItem) loses nothing: the next process delivers its items, only the batch in flight twice
--SKIPIF--
<?php if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: memory_limit is not enforced without the Zend allocator (USE_ZEND_ALLOC=0)'); ?>
--INI--
asyncbatch.spool_dir={PWD}/102.spool
asyncbatch.failure_dir={PWD}/102.failed
error_log={PWD}/102.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/102.spool';

// The callables of the child: t dies on its second batch, of what FATAL says.
$callables = <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$calls = 0;
$t = function (array $items) use (&$calls) {
    echo 'child t: ', implode(',', $items), "\n";
    if (++$calls === 2) {
        if (FATAL === 'memory') {
            $hog = [];
            while (true) {
                $hog[] = str_repeat('x', 1 << 20);
            }
        }
        set_time_limit(1);
        while (true) {
        }
    }
    return true;
};
$u = function (array $items) {
    echo 'child u: ', implode(',', $items), "\n";
    return true;
};

PHP;

// (a) At shutdown, memory_limit exhausted. A batchSize of 100 while submitting keeps
// the CLI from delivering in submitItem(); registering again with 3 keeps the queues,
// delivered at shutdown.
$atShutdown = $callables . <<<'PHP'
const FATAL = 'memory';
$r->registerAsyncJob('t', $t, ['batchSize' => 100, 'callPeriod' => 3600]);
$r->registerAsyncJob('u', $u, ['batchSize' => 100, 'callPeriod' => 3600]);
for ($i = 1; $i <= 7; $i++) {
    $r->submitItem('t', "t$i");
}
for ($i = 1; $i <= 4; $i++) {
    $r->submitItem('u', "u$i");
}
$r->registerAsyncJob('t', $t, ['batchSize' => 3, 'callPeriod' => 3600]);
$r->registerAsyncJob('u', $u, ['batchSize' => 3, 'callPeriod' => 3600]);
echo "child submitted t1..t7, u1..u4\n";
PHP;

// (b) In the CLI, a due batch is delivered by submitItem(): t's second one runs out of
// time there. The runner's shutdown function still runs, and delivers u.
$inSubmit = $callables . <<<'PHP'
const FATAL = 'time';
$r->registerAsyncJob('t', $t, ['batchSize' => 3, 'callPeriod' => 3600]);
$r->registerAsyncJob('u', $u, ['batchSize' => 3, 'callPeriod' => 3600]);
$r->submitItem('u', 'u1');
$r->submitItem('u', 'u2');
for ($i = 1; $i <= 7; $i++) {
    echo "child submits t$i\n";
    $r->submitItem('t', "t$i");
}
echo "not reached\n";
PHP;

function scenario(string $title, string $code, array $submitted, string $spool): void
{
    echo "== $title\n";
    [$status, $out, $err] = ab_run_php($code, ['memory_limit' => '32M']);
    // PHP's message, without the path and line.
    $out = preg_replace('/^(?:PHP )?Fatal error: +(.*?)(?: \(tried to allocate \d+ bytes\))? in .* on line \d+$/m', 'fatal: $1', $out);
    echo preg_replace('/\n\n+/', "\n", ltrim($out)), $err, "child exit status: $status\n";
    $child = [];
    foreach (explode("\n", $out) as $line) {
        if (preg_match('/^child [tu]: (.+)$/', $line, $m)) {
            array_push($child, ...explode(',', $m[1]));
        }
    }

    $parent = [];
    $r = new AsyncBatchRunner();
    foreach (['t', 'u'] as $job) {
        $r->registerAsyncJob($job, function (array $items) use ($job, &$parent) {
            echo "parent $job: ", implode(',', $items), "\n";
            array_push($parent, ...$items);
            return true;
        }, ['batchSize' => 3]);
    }
    $n = $r->flush();
    echo "parent flush: $n\n";

    $counts = array_count_values(array_merge($child, $parent));
    $lost = array_values(array_diff($submitted, array_keys($counts)));
    $again = [];
    foreach ($counts as $item => $n) {
        if ($n > 1) {
            $again[] = "$item x$n";
        }
    }
    sort($again, SORT_NATURAL);
    echo 'submitted: ', count($submitted), ', delivered: ', count($counts), ', lost: ',
        $lost === [] ? 'none' : implode(',', $lost), "\n";
    echo 'delivered more than once: ', $again === [] ? 'none' : implode(', ', $again), "\n";
    echo 'files left in the spool: ', json_encode(ab_ls($spool)), "\n";
}

scenario('at shutdown', $atShutdown, ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 'u1', 'u2', 'u3', 'u4'], $spool);
scenario('in submitItem', $inSubmit, ['t1', 't2', 't3', 't4', 't5', 't6', 'u1', 'u2'], $spool);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/102.spool');
ab_rmrf(__DIR__ . '/102.failed');
ab_rmrf(__DIR__ . '/102.log');
?>
--EXPECT--
== at shutdown
child submitted t1..t7, u1..u4
child t: t1,t2,t3
child t: t4,t5,t6
fatal: Allowed memory size of 33554432 bytes exhausted
child exit status: 255
parent t: t4,t5,t6
parent t: t7
parent u: u1,u2,u3
parent u: u4
parent flush: 8
submitted: 11, delivered: 11, lost: none
delivered more than once: t4 x2, t5 x2, t6 x2
files left in the spool: []
== in submitItem
child submits t1
child submits t2
child submits t3
child t: t1,t2,t3
child submits t4
child submits t5
child submits t6
child t: t4,t5,t6
fatal: Maximum execution time of 1 second exceeded
child u: u1,u2
child exit status: 255
parent t: t4,t5,t6
parent flush: 3
submitted: 8, delivered: 8, lost: none
delivered more than once: t4 x2, t5 x2, t6 x2
files left in the spool: []
