--TEST--
With the spool runner a CLI script's batch that is due (batchSize items queued, or the oldest callPeriod old) leaves memory for the spool, where the shutdown runner would deliver it; no callable runs
--INI--
asyncbatch.spool_dir={PWD}/141.spool
asyncbatch.failure_dir={PWD}/141.failed
error_log={PWD}/141.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/141.spool';

/** The items of a job's segments in the spool, oldest segment first. */
function spooled(string $dir, string $job): array
{
    $items = [];
    foreach (ab_ls($dir, "$job.*.seg") as $name) {
        $bytes = file_get_contents("$dir/$name");
        for ($p = 8; $p < strlen($bytes); $p += 8 + $n) {
            $n = unpack('V', $bytes, $p)[1];
            array_push($items, ...fmt_unmp(substr($bytes, $p + 8, $n))[1]);
        }
    }
    return $items;
}

[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$never = function (array $items) { echo "a callable was called\n"; return true; };
$r->registerAsyncJob('t', $never, ['batchSize' => 2, 'callPeriod' => 3600]);
$r->registerAsyncJob('p', $never, ['batchSize' => 100, 'callPeriod' => 0.2]);
$queued = [];
for ($i = 1; $i <= 5; $i++) {
    $r->submitItem('t', $i);
    $queued[] = $r->stats()['t']['queued'];
}
// The polyfill keeps a job's items in the request until its batch is due; the
// extension hands each item to its sender thread at once (which writes the spool
// within milliseconds), so there the count is a race and only its bound is shown.
echo 't queued after each submit: ', extension_loaded('asyncbatch') ? (max($queued) <= 5 ? 'at most 5' : implode(' ', $queued)) : implode(' ', $queued), "\n";
$r->submitItem('p', 'early');
usleep(300000);
$r->submitItem('p', 'late');
$pq = $r->stats()['p']['queued'];
echo 'p queued once its oldest item is callPeriod old: ', extension_loaded('asyncbatch') && $pq <= 2 ? 'at most 2' : $pq, "\n";
echo 'delivered: ', $r->stats()['t']['delivered'] + $r->stats()['p']['delivered'], "\n";
PHP, ['asyncbatch.runner' => 'spool']);
echo $out, $err, "exit status $status\n";
echo 't in the spool: ', json_encode(spooled($spool, 't')), "\n";
echo 'p in the spool: ', json_encode(spooled($spool, 'p')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/141.spool');
ab_rmrf(__DIR__ . '/141.failed');
ab_rmrf(__DIR__ . '/141.log');
?>
--EXPECTF--
t queued after each submit: %r(1 0 1 0 1|at most 5)%r
p queued once its oldest item is callPeriod old: %r(0|at most 2)%r
delivered: 0
exit status 0
t in the spool: [1,2,3,4,5]
p in the spool: ["early","late"]
