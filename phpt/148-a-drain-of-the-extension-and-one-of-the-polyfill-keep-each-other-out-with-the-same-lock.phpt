--TEST--
The extension's drain and the polyfill's (--polyfill) take the same {spool_dir}/drain.lock: while a drain of either runs, a drain of the other prints "asyncbatch: another drain is running (pid N)" and exits 0
--SKIPIF--
<?php
require __DIR__ . '/_child.inc';
if (ab_other_php_args() === null) die('skip the extension is not built, so there is no other implementation to run a drain');
if (getenv('USE_ZEND_ALLOC') === '0') die('skip under valgrind: the drains wait for each other at most 30 s, which valgrind may outlast');
?>
--INI--
asyncbatch.spool_dir={PWD}/148.spool
asyncbatch.failure_dir={PWD}/148.failed
error_log={PWD}/148.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/148.spool';
$bootstrap = __DIR__ . '/148.bootstrap.php';
$inside = __DIR__ . '/148.inside';
$go = __DIR__ . '/148.go';

// A batch waits (at most 30 s) until the test has run the other drain.
file_put_contents($bootstrap, strtr(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    touch(INSIDE);
    for ($i = 0; $i < 300 && !file_exists(GO); $i++) {
        usleep(100000);
    }
    echo (extension_loaded('asyncbatch') ? 'the extension' : 'the polyfill'), ' delivered ', json_encode($items), "\n";
    return true;
});
PHP, ['INSIDE' => var_export($inside, true), 'GO' => var_export($go, true)]));

/** The command line of a drain run by the extension, or by the polyfill. */
function drain(bool $extension, string $bootstrap): array
{
    $php = $extension === extension_loaded('asyncbatch') ? ab_php_args() : ab_other_php_args();
    return [...$php, ab_root() . '/php/bin/asyncbatch', 'drain', '--bootstrap', $bootstrap, ...($extension ? [] : ['--polyfill'])];
}

foreach ([[true, false], [false, true]] as [$holder, $other]) {
    $name = fn (bool $ext) => $ext ? 'extension' : 'polyfill';
    fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', [$name($holder)]));
    @unlink($inside);
    @unlink($go);
    $first = proc_open(drain($holder, $bootstrap), [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    fclose($pipes[0]);
    $pid = proc_get_status($first)['pid'];
    for ($i = 0; $i < 300 && !file_exists($inside); $i++) {
        usleep(100000);
    }
    echo "the {$name($holder)}'s drain ", file_exists($inside) ? 'is delivering' : 'never started delivering', "\n";
    [$status, $out, $err] = ab_run(drain($other, $bootstrap));
    echo "  the {$name($other)}'s drain meanwhile: exit status $status\n  ", $out, str_replace((string) $pid, '{pid}', $err);
    touch($go);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    echo "  the {$name($holder)}'s drain: exit status ", proc_close($first), "\n  ", $out, $err;
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/148.spool');
ab_rmrf(__DIR__ . '/148.failed');
ab_rmrf(__DIR__ . '/148.log');
foreach (['bootstrap.php', 'inside', 'go'] as $f) {
    ab_rmrf(__DIR__ . "/148.$f");
}
?>
--EXPECT--
the extension's drain is delivering
  the polyfill's drain meanwhile: exit status 0
  asyncbatch: another drain is running (pid {pid})
  the extension's drain: exit status 0
  the extension delivered ["extension"]
the polyfill's drain is delivering
  the extension's drain meanwhile: exit status 0
  asyncbatch: another drain is running (pid {pid})
  the polyfill's drain: exit status 0
  the polyfill delivered ["polyfill"]
