--TEST--
Without the extension, daemon exits 1 saying it needs it (--polyfill does not apply to it); drain exits 1 saying it needs the extension or --polyfill, and with --polyfill it runs
--INI--
asyncbatch.spool_dir={PWD}/068.spool
asyncbatch.failure_dir={PWD}/068.failed
error_log={PWD}/068.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$bin = ab_root() . '/php/bin/asyncbatch';
file_put_contents(__DIR__ . '/068.bootstrap.php', "<?php\n");
foreach ([['daemon'], ['drain'], ['daemon', '--polyfill'], ['drain', '--polyfill']] as $args) {
    $cmd = [$args[0], '--bootstrap', __DIR__ . '/068.bootstrap.php', ...array_slice($args, 1)];
    [$status, $out, $err] = ab_run([PHP_BINARY, '-d', 'asyncbatch.spool_dir=' . __DIR__ . '/068.spool', $bin, ...$cmd]);
    echo '[', implode(' ', $args), "] exit status $status\n", $out === '' ? '' : "stdout: $out\n", $err;
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/068.spool');
ab_rmrf(__DIR__ . '/068.failed');
ab_rmrf(__DIR__ . '/068.log');
ab_rmrf(__DIR__ . '/068.bootstrap.php');
?>
--EXPECTF--
[daemon] exit status 1
asyncbatch: daemon needs the asyncbatch extension (the pure-PHP polyfill has no daemon runner, so --polyfill does not apply).
Load it with 'php -d extension=asyncbatch.so %s/php/bin/asyncbatch daemon ...' or the php.ini line 'extension=asyncbatch.so'.
[drain] exit status 1
asyncbatch: the asyncbatch extension is not loaded.
Load it with 'php -d extension=asyncbatch.so %s/php/bin/asyncbatch drain ...' or the php.ini line 'extension=asyncbatch.so',
or add --polyfill to run this command with the pure-PHP implementation instead.
[daemon --polyfill] exit status 1
asyncbatch: daemon needs the asyncbatch extension (the pure-PHP polyfill has no daemon runner, so --polyfill does not apply).
Load it with 'php -d extension=asyncbatch.so %s/php/bin/asyncbatch daemon ...' or the php.ini line 'extension=asyncbatch.so'.
[drain --polyfill] exit status 1
asyncbatch drain: the bootstrap registered no job (call registerAsyncJob() in it)
