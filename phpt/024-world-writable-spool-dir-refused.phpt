--TEST--
A spool directory writable by others is refused with one warning naming it; the items are counted as dropped
--INI--
asyncbatch.spool_dir={PWD}/024.spool
asyncbatch.failure_dir={PWD}/024.failed
error_log={PWD}/024.log
--FILE--
<?php
$spool = __DIR__ . '/024.spool';
mkdir($spool);
chmod($spool, 0777);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true, ['maxQueueSize' => 1]);
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
$s = $r->stats()['t'];
echo "spooled {$s['spooled']}, dropped {$s['dropped']}, queued {$s['queued']}\n";
chmod($spool, 0700); // only the write is under test here, not the read at shutdown
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/024.spool');
ab_rmrf(__DIR__ . '/024.failed');
ab_rmrf(__DIR__ . '/024.log');
?>
--EXPECTF--
Warning: asyncbatch: cannot write to the spool: refusing to use spool directory %s/024.spool: writable by group or others (mode 0777); 1 items for job 't' dropped in %s on line %d
spooled 0, dropped 2, queued 0
