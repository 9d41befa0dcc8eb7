--TEST--
A spool directory owned by another uid is refused with a warning naming both uids
--SKIPIF--
<?php
if (!function_exists('posix_geteuid') || posix_geteuid() !== 0) die('skip needs root to chown a directory to another uid');
?>
--INI--
asyncbatch.spool_dir={PWD}/026.spool
asyncbatch.failure_dir={PWD}/026.failed
error_log={PWD}/026.log
--FILE--
<?php
$spool = __DIR__ . '/026.spool';
mkdir($spool, 0700);
chown($spool, 65534);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true, ['maxQueueSize' => 1]);
$r->submitItem('t', 'a');
echo 'dropped ', $r->stats()['t']['dropped'], "\n";
chown($spool, 0); // only the write is under test here, not the read at shutdown
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/026.spool');
ab_rmrf(__DIR__ . '/026.failed');
ab_rmrf(__DIR__ . '/026.log');
?>
--EXPECTF--
Warning: asyncbatch: cannot write to the spool: refusing to use spool directory %s/026.spool: owned by uid 65534, not 0; 1 items for job 't' dropped in %s on line %d
dropped 1
