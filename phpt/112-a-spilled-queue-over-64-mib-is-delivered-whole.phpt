--TEST--
A queue spilled to the spool whose items add up to more than a frame may hold (64 MiB) is written as several frames and delivered whole, in order
--INI--
asyncbatch.spool_dir={PWD}/112.spool
asyncbatch.failure_dir={PWD}/112.failed
error_log={PWD}/112.log
memory_limit=1G
--FILE--
<?php
// 80 items of 900 KB: 72 MB in one spill (maxQueueSize 80), then 79 more from memory.
$big = str_repeat('x', 900000);
$seen = [];
$r = new AsyncBatchRunner();
$r->registerAsyncJob('big', function (array $batch) use (&$seen) {
    foreach ($batch as $item) {
        $seen[] = $item['n'] . ':' . strlen($item['s']);
    }
    return true;
}, ['batchSize' => 1000, 'callPeriod' => 600, 'maxQueueSize' => 80]);
for ($i = 0; $i < 80; $i++) {
    $r->submitItem('big', ['n' => $i, 's' => $big]);
}
echo 'spilled: ', $r->stats()['big']['spooled'], "\n";
echo 'delivered from the spool: ', $r->flush('big'), "\n";
for ($i = 80; $i < 159; $i++) {
    $r->submitItem('big', ['n' => $i, 's' => $big]);
}
echo 'delivered from memory: ', $r->flush('big'), "\n";
$expected = array_map(fn ($i) => "$i:900000", range(0, 158));
echo 'in order, each once: ', $seen === $expected ? 'yes' : 'no', "\n";
$s = $r->stats()['big'];
echo "dropped {$s['dropped']}, queued {$s['queued']}\n";
$left = glob(__DIR__ . '/112.spool/*') ?: [];
echo 'left in the spool: ', count(array_filter($left, fn ($f) => !str_ends_with($f, '.part'))), "\n";
echo 'logged: ', file_exists(__DIR__ . '/112.log') ? trim(file_get_contents(__DIR__ . '/112.log')) : 'nothing', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/112.spool');
ab_rmrf(__DIR__ . '/112.failed');
ab_rmrf(__DIR__ . '/112.log');
?>
--EXPECT--
spilled: 80
delivered from the spool: 80
delivered from memory: 79
in order, each once: yes
dropped 0, queued 0
left in the spool: 0
logged: nothing
