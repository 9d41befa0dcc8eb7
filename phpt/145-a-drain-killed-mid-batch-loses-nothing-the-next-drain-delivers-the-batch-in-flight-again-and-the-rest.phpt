--TEST--
A drain SIGKILLed mid-batch loses nothing: the segment stays with a .done recording the batches done, and the next drain delivers the batch that was in flight again (at-least-once) and the rest, then leaves nothing behind
--INI--
asyncbatch.spool_dir={PWD}/145.spool
asyncbatch.failure_dir={PWD}/145.failed
error_log={PWD}/145.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/145.spool';
$bootstrap = __DIR__ . '/145.bootstrap.php';
$kill = __DIR__ . '/145.kill';

fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', [1, 2, 3, 4, 5, 6, 7]));
// While the file 145.kill exists, the second call kills its own process.
file_put_contents($bootstrap, str_replace('KILL', var_export($kill, true), <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$calls = 0;
$r->registerAsyncJob('t', function (array $items) use (&$calls) {
    echo 'called with ', json_encode($items), "\n";
    if (++$calls === 2 && file_exists(KILL)) {
        unlink(KILL);
        if (function_exists('posix_kill')) {
            posix_kill(getmypid(), 9);
        } else {
            exec('kill -9 ' . getmypid());
        }
        sleep(10);
        echo "not reached\n";
    }
    return true;
}, ['batchSize' => 2]);
PHP));

touch($kill);
[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap]);
echo "killed drain: ended by signal $status\n", $out, $err;
echo "spool after the kill:\n";
foreach (ab_ls($spool) as $name) {
    $done = str_ends_with($name, '.done') ? ' = ' . unpack('P', file_get_contents("$spool/$name"))[1] : '';
    echo "  $name$done\n";
}

[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap]);
echo "next drain: exit status $status\n", $out, $err;
echo 'spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/145.spool');
ab_rmrf(__DIR__ . '/145.failed');
ab_rmrf(__DIR__ . '/145.log');
ab_rmrf(__DIR__ . '/145.bootstrap.php');
ab_rmrf(__DIR__ . '/145.kill');
?>
--EXPECT--
killed drain: ended by signal 9
called with [1,2]
called with [3,4]
spool after the kill:
  drain.lock
  t.0000000000000001.1.1.seg
  t.0000000000000001.1.1.seg.done = 2
next drain: exit status 0
called with [3,4]
called with [5,6]
called with [7]
spool: ["drain.lock"]
