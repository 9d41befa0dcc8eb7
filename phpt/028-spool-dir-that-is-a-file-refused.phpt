--TEST--
A spool path that is not a directory is refused with a warning
--INI--
asyncbatch.spool_dir={PWD}/028.spool
asyncbatch.failure_dir={PWD}/028.failed
error_log={PWD}/028.log
--FILE--
<?php
file_put_contents(__DIR__ . '/028.spool', 'not a directory');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true, ['maxQueueSize' => 1]);
$r->submitItem('t', 'a');
echo 'dropped ', $r->stats()['t']['dropped'], "\n";
unlink(__DIR__ . '/028.spool'); // only the write is under test here, not the read at shutdown
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/028.spool');
ab_rmrf(__DIR__ . '/028.failed');
ab_rmrf(__DIR__ . '/028.log');
?>
--EXPECTF--
Warning: asyncbatch: cannot write to the spool: refusing to use spool directory %s/028.spool: not a directory; 1 items for job 't' dropped in %s on line %d
dropped 1
