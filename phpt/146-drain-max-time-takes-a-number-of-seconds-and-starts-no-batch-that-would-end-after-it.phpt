--TEST--
drain --max-time takes a number of seconds > 0 and at most a day (else exit 2 before the bootstrap is loaded); with it the drain starts no batch that would end after that many seconds, judged from the job's batch times, and the next drain delivers the rest
--INI--
asyncbatch.spool_dir={PWD}/146.spool
asyncbatch.failure_dir={PWD}/146.failed
error_log={PWD}/146.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/146.spool';
$bootstrap = __DIR__ . '/146.bootstrap.php';
$loaded = __DIR__ . '/146.loaded';

file_put_contents($bootstrap, str_replace('LOADED', var_export($loaded, true), <<<'PHP'
<?php
touch(LOADED);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'called with ', json_encode($items), "\n";
    usleep(400000);
    return true;
}, ['batchSize' => 2]);
PHP));

foreach (['0', '-1', 'abc', '', 'inf', 'NaN', '86401', '1e400'] as $bad) {
    [$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap, '--max-time', $bad]);
    echo "--max-time '$bad': exit status $status\n", $out, $err;
}
echo file_exists($loaded) ? "the bootstrap was loaded\n" : "the bootstrap was never loaded\n";

fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', [1, 2, 3, 4, 5, 6]));
// A batch takes 0.4 s: after the first, a second would end at 0.8 s.
[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap, '--max-time', '0.6']);
echo "--max-time 0.6: exit status $status\n", $out, $err;
[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap]);
echo "the next drain: exit status $status\n", $out, $err;
echo 'spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/146.spool');
ab_rmrf(__DIR__ . '/146.failed');
ab_rmrf(__DIR__ . '/146.log');
ab_rmrf(__DIR__ . '/146.bootstrap.php');
ab_rmrf(__DIR__ . '/146.loaded');
?>
--EXPECT--
--max-time '0': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got '0'
Run 'asyncbatch help' for usage.
--max-time '-1': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got '-1'
Run 'asyncbatch help' for usage.
--max-time 'abc': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got 'abc'
Run 'asyncbatch help' for usage.
--max-time '': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got ''
Run 'asyncbatch help' for usage.
--max-time 'inf': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got 'inf'
Run 'asyncbatch help' for usage.
--max-time 'NaN': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got 'NaN'
Run 'asyncbatch help' for usage.
--max-time '86401': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got '86401'
Run 'asyncbatch help' for usage.
--max-time '1e400': exit status 2
asyncbatch: option '--max-time' needs a number of seconds > 0 and at most 86400, got '1e400'
Run 'asyncbatch help' for usage.
the bootstrap was never loaded
--max-time 0.6: exit status 0
called with [1,2]
the next drain: exit status 0
called with [3,4]
called with [5,6]
spool: ["drain.lock"]
