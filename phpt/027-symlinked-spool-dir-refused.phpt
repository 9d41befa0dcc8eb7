--TEST--
A spool directory that is a symbolic link is refused, even to a good directory
--INI--
asyncbatch.spool_dir={PWD}/027.spool
asyncbatch.failure_dir={PWD}/027.failed
error_log={PWD}/027.log
--FILE--
<?php
$real = __DIR__ . '/027.real';
mkdir($real, 0700);
symlink($real, __DIR__ . '/027.spool');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true, ['maxQueueSize' => 1]);
$r->submitItem('t', 'a');
echo 'dropped ', $r->stats()['t']['dropped'], ', files in target: ', count(scandir($real)) - 2, "\n";
unlink(__DIR__ . '/027.spool'); // only the write is under test here, not the read at shutdown
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/027.spool');
ab_rmrf(__DIR__ . '/027.failed');
ab_rmrf(__DIR__ . '/027.log');
ab_rmrf(__DIR__ . '/027.real');
?>
--EXPECTF--
Warning: asyncbatch: cannot write to the spool: refusing to use spool directory %s/027.spool: it is a symbolic link; 1 items for job 't' dropped in %s on line %d
dropped 1, files in target: 0
