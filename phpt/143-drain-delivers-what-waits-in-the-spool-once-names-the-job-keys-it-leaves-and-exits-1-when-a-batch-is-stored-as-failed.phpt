--TEST--
drain loads the bootstrap and delivers everything the spool holds for its jobs, in batches, once, whatever runner php.ini gives the pages; it names the job keys of segments it leaves (no such job) and exits 0, or 1 when a batch ended in the failure store
--INI--
asyncbatch.spool_dir={PWD}/143.spool
asyncbatch.failure_dir={PWD}/143.failed
error_log={PWD}/143.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/143.spool';
$failed = __DIR__ . '/143.failed';
$marker = __DIR__ . '/143.delivered';
$bootstrap = __DIR__ . '/143.bootstrap.php';

// The pages: the spool runner.
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true, ['batchSize' => 100]);
$r->registerAsyncJob('u', fn () => true);
foreach ([1, 2, 3, 4, 5] as $item) {
    $r->submitItem('t', $item);
}
$r->submitItem('u', 'x');
PHP, ['asyncbatch.runner' => 'spool']);
echo "page: exit status $status\n", $out, $err;
// Segments of a job the bootstrap does not register.
fmt_put($spool, 'gone.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('gone', ['?']));
fmt_put($spool, 'gone.0000000000000002.1.2.seg', fmt_segment_header() . fmt_frame('gone', ['?']));

file_put_contents($bootstrap, str_replace('MARKER', var_export($marker, true), <<<'PHP'
<?php
$r = new AsyncBatchRunner();
foreach (['t', 'u'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job) {
        file_put_contents(MARKER, "$job: " . json_encode($items) . "\n", FILE_APPEND);
        return true;
    }, ['batchSize' => 2]);
}
$r->registerAsyncJob('f', fn () => false, ['maxRetries' => 0]);
PHP));

// No error_log: the drain's lines go to stderr, as from cron.
foreach (['first drain', 'second drain'] as $what) {
    [$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap], ['asyncbatch.runner' => 'spool', 'error_log' => null]);
    echo "$what: exit status $status\n", $out, $err;
    echo is_file($marker) ? file_get_contents($marker) : "nothing delivered\n";
}
echo 'spool: ', json_encode(ab_ls($spool)), "\n";

// A batch that fails its only attempt.
fmt_put($spool, 'f.0000000000000003.1.3.seg', fmt_segment_header() . fmt_frame('f', ['doomed']));
[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap], ['asyncbatch.runner' => 'spool']);
echo "a batch stored as failed: exit status $status\n", $out, $err;
echo 'failure store: ', json_encode(array_map(fn ($n) => strtok($n, '.'), ab_ls($failed, '*.fail'))), "\n";
echo 'f segments left: ', count(ab_ls($spool, 'f.*')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/143.spool');
ab_rmrf(__DIR__ . '/143.failed');
ab_rmrf(__DIR__ . '/143.log');
ab_rmrf(__DIR__ . '/143.delivered');
ab_rmrf(__DIR__ . '/143.bootstrap.php');
?>
--EXPECT--
page: exit status 0
first drain: exit status 0
asyncbatch drain: 2 segments for job key 'gone' left in the spool: the bootstrap registers no such job
t: [1,2]
t: [3,4]
t: [5]
u: ["x"]
second drain: exit status 0
asyncbatch drain: 2 segments for job key 'gone' left in the spool: the bootstrap registers no such job
t: [1,2]
t: [3,4]
t: [5]
u: ["x"]
spool: ["drain.lock","gone.0000000000000001.1.1.seg","gone.0000000000000002.1.2.seg"]
a batch stored as failed: exit status 1
failure store: ["f"]
f segments left: 0
