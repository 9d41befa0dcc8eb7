--TEST--
Without the extension, asyncbatch says how to load it and that --polyfill runs the pure-PHP implementation
--INI--
asyncbatch.spool_dir={PWD}/052.spool
asyncbatch.failure_dir={PWD}/052.failed
error_log={PWD}/052.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$bin = ab_root() . '/php/bin/asyncbatch';
$plain = [PHP_BINARY, '-d', 'asyncbatch.failure_dir=' . __DIR__ . '/052.failed', $bin, 'failed:list'];
[$status, $out, $err] = ab_run($plain);
echo "exit status: $status\n", 'stdout: ', $out === '' ? '(empty)' : $out, "\n", $err;
$plain[] = '--polyfill';
[$status, $out, $err] = ab_run($plain);
echo "with --polyfill, exit status: $status\n", $out, $err;
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/052.spool');
ab_rmrf(__DIR__ . '/052.failed');
ab_rmrf(__DIR__ . '/052.log');
?>
--EXPECTF--
exit status: 1
stdout: (empty)
asyncbatch: the asyncbatch extension is not loaded.
Load it with 'php -d extension=asyncbatch.so %s/php/bin/asyncbatch ...' or the php.ini line 'extension=asyncbatch.so',
or add --polyfill to run this command with the pure-PHP implementation instead.
with --polyfill, exit status: 0
0 failed batches, 0 items in %s/052.failed
