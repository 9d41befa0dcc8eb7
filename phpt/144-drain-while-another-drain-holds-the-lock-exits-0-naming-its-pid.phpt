--TEST--
A drain that starts while another holds {spool_dir}/drain.lock prints "asyncbatch: another drain is running (pid N)" and exits 0 without loading its bootstrap; the first delivers everything once; a drain after it takes the lock
--SKIPIF--
<?php if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: the drains wait for each other at most 30 s, which valgrind may outlast'); ?>
--INI--
asyncbatch.spool_dir={PWD}/144.spool
asyncbatch.failure_dir={PWD}/144.failed
error_log={PWD}/144.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/144.spool';
$bootstrap = __DIR__ . '/144.bootstrap.php';
$inside = __DIR__ . '/144.inside';
$go = __DIR__ . '/144.go';
$delivered = __DIR__ . '/144.delivered';

fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', ['a', 'b', 'c']));
// The first batch waits (at most 30 s) until the test has run the second drain.
file_put_contents($bootstrap, strtr(<<<'PHP'
<?php
file_put_contents(LOADED, getmypid() . "\n", FILE_APPEND);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    touch(INSIDE);
    for ($i = 0; $i < 300 && !file_exists(GO); $i++) {
        usleep(100000);
    }
    file_put_contents(DELIVERED, json_encode($items) . "\n", FILE_APPEND);
    return true;
}, ['batchSize' => 2]);
PHP, [
    'LOADED' => var_export(__DIR__ . '/144.loaded', true), 'INSIDE' => var_export($inside, true),
    'GO' => var_export($go, true), 'DELIVERED' => var_export($delivered, true),
]));
$argv = [...ab_php_args(), ab_root() . '/php/bin/asyncbatch', 'drain', '--bootstrap', $bootstrap];
if (!extension_loaded('asyncbatch')) {
    $argv[] = '--polyfill';
}
$first = proc_open($argv, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
fclose($pipes[0]);
$pid = proc_get_status($first)['pid'];
for ($i = 0; $i < 300 && !file_exists($inside); $i++) {
    usleep(100000);
}
echo file_exists($inside) ? "the first drain is delivering\n" : "the first drain never started delivering\n";

[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap]);
echo "second drain: exit status $status\n", $out, str_replace((string) $pid, '{first pid}', $err);
echo 'the lock file holds the first pid: ', trim(file_get_contents("$spool/drain.lock")) === (string) $pid ? 'yes' : 'no', "\n";

touch($go);
$out = stream_get_contents($pipes[1]);
$err = stream_get_contents($pipes[2]);
echo 'first drain: exit status ', proc_close($first), "\n", $out, $err;
echo file_get_contents($delivered);

[$status, $out, $err] = ab_cli(['drain', '--bootstrap', $bootstrap]);
echo "third drain: exit status $status\n", $out, $err;
echo 'the bootstrap was loaded ', count(file(__DIR__ . '/144.loaded')), " times\n";
echo 'spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/144.spool');
ab_rmrf(__DIR__ . '/144.failed');
ab_rmrf(__DIR__ . '/144.log');
foreach (['bootstrap.php', 'inside', 'go', 'delivered', 'loaded'] as $f) {
    ab_rmrf(__DIR__ . "/144.$f");
}
?>
--EXPECT--
the first drain is delivering
second drain: exit status 0
asyncbatch: another drain is running (pid {first pid})
the lock file holds the first pid: yes
first drain: exit status 0
["a","b"]
["c"]
third drain: exit status 0
the bootstrap was loaded 2 times
spool: ["drain.lock"]
