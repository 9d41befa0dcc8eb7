--TEST--
Without the extension drain exits 1 saying to load it or add --polyfill; with --polyfill the pure-PHP drain runs its process under the shutdown runner even where php.ini says spool: the bootstrap's flush() delivers
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die('skip the polyfill drain (--polyfill) runs only without the extension');
?>
--INI--
asyncbatch.spool_dir={PWD}/147.spool
asyncbatch.failure_dir={PWD}/147.failed
error_log={PWD}/147.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$spool = __DIR__ . '/147.spool';
$bootstrap = __DIR__ . '/147.bootstrap.php';
fmt_put($spool, 't.0000000000000001.1.1.seg', fmt_segment_header() . fmt_frame('t', ['spooled']));
file_put_contents($bootstrap, <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'called with ', json_encode($items), "\n";
    return true;
});
$r->submitItem('t', 'from the bootstrap');
$n = $r->flush();
echo "flush() in the bootstrap: $n\n";
PHP);
$argv = [...ab_php_args(['asyncbatch.runner' => 'spool']), ab_root() . '/php/bin/asyncbatch', 'drain', '--bootstrap', $bootstrap];
[$status, $out, $err] = ab_run($argv);
echo "without --polyfill: exit status $status\n", $out, $err;
[$status, $out, $err] = ab_run([...$argv, '--polyfill']);
echo "with --polyfill: exit status $status\n", $out, $err;
echo 'spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/147.spool');
ab_rmrf(__DIR__ . '/147.failed');
ab_rmrf(__DIR__ . '/147.log');
ab_rmrf(__DIR__ . '/147.bootstrap.php');
?>
--EXPECTF--
without --polyfill: exit status 1
asyncbatch: the asyncbatch extension is not loaded.
Load it with 'php -d extension=asyncbatch.so %s/php/bin/asyncbatch drain ...' or the php.ini line 'extension=asyncbatch.so',
or add --polyfill to run this command with the pure-PHP implementation instead.
with --polyfill: exit status 0
called with ["spooled"]
called with ["from the bootstrap"]
flush() in the bootstrap: 2
spool: ["drain.lock"]
