--TEST--
A long-running worker loop of 100,000 requests (each registers its jobs, submits, and calls endRequest(), a throwing collector every 1,000th) delivers every item of each request before the next, stores each failed batch, and its memory does not grow
--INI--
asyncbatch.spool_dir={PWD}/127.spool
asyncbatch.failure_dir={PWD}/127.failed
error_log={PWD}/127.log
memory_limit=256M
--FILE--
<?php
require __DIR__ . '/_time.inc';
// Under valgrind 2,000 requests, and memory is not checked: valgrind's own
// allocator decides the process's size there.
$requests = ab_valgrind() ? 2000 : 100000;
$settle = ab_valgrind() ? 1000 : 10000;

function ab_rss_kib(): int
{
    preg_match('/^VmRSS:\s+(\d+) kB/m', (string) file_get_contents('/proc/self/status'), $m);
    return (int) ($m[1] ?? 0);
}

$r = new AsyncBatchRunner();
$delivered = 0;
$late = 0;
$ok = function (array $items) use (&$delivered): bool {
    $delivered += count($items);
    return true;
};
$down = function (array $items): bool {
    throw new RuntimeException('collector down');
};
$failing = 0;
for ($i = 1; $i <= $requests; $i++) {
    // As php-fpm code does: the jobs are registered at the start of each request.
    $r->registerAsyncJob('logs', $i % 1000 === 0 ? $down : $ok, ['batchSize' => 100, 'callPeriod' => 3600, 'maxRetries' => 0]);
    $r->registerAsyncJob('events', $ok, ['batchSize' => 1000, 'callPeriod' => 3600]);
    $before = $delivered;
    $r->submitItem('logs', ['request' => $i, 'message' => 'GET /orders', 'context' => ['user' => $i % 97]]);
    $r->submitItem('logs', "request $i done");
    $r->submitItem('events', $i);
    $n = $r->endRequest();
    $expected = $i % 1000 === 0 ? 1 : 3;
    if ($n !== $expected || $delivered - $before !== $expected) {
        $late++;
    }
    if ($i % 1000 === 0) {
        $failing++;
    }
    if ($i === $settle) {
        gc_collect_cycles();
        $heap0 = memory_get_usage();
        $rss0 = ab_rss_kib();
    }
}
gc_collect_cycles();
$heap = memory_get_usage() - $heap0;
$rss = ab_rss_kib() - $rss0;

echo 'requests whose items were not all delivered by their endRequest(): ', $late, "\n";
echo 'items delivered: ', $delivered === 3 * $requests - 2 * $failing ? 'all but the failed batches' : $delivered, "\n";
$stored = count(glob(__DIR__ . '/127.failed/*'));
echo 'failed batches stored: ', $stored === $failing ? 'one per throwing request' : "$stored of $failing", "\n";
$stats = $r->stats();
echo 'queued: ', $stats['logs']['queued'] + $stats['events']['queued'], "\n";
if (ab_valgrind()) {
    echo "heap growth under 64 KiB: yes\nRSS growth under 2 MiB: yes\n";
} else {
    echo 'heap growth under 64 KiB: ', $heap < 65536 ? 'yes' : "no ($heap bytes)", "\n";
    echo 'RSS growth under 2 MiB: ', $rss < 2048 ? 'yes' : "no ($rss KiB)", "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/127.$x");
}
?>
--EXPECT--
requests whose items were not all delivered by their endRequest(): 0
items delivered: all but the failed batches
failed batches stored: one per throwing request
queued: 0
heap growth under 64 KiB: yes
RSS growth under 2 MiB: yes
