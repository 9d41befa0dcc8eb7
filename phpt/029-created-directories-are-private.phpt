--TEST--
Missing spool and failure directories are created 0700, each missing component, and their files 0600
--INI--
asyncbatch.spool_dir={PWD}/029.spool/a/b
asyncbatch.failure_dir={PWD}/029.failed/x
error_log={PWD}/029.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxQueueSize' => 1, 'maxRetries' => 0]);
$r->submitItem('t', 'spilled');
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->flush('t');
foreach (['029.spool', '029.spool/a', '029.spool/a/b', '029.failed', '029.failed/x'] as $d) {
    printf("%s %o\n", $d, fileperms(__DIR__ . "/$d") & 0777);
}
$files = array_merge(glob(__DIR__ . '/029.failed/x/*'), glob(__DIR__ . '/029.spool/a/b/*'));
foreach ($files as $f) {
    printf("file %o\n", fileperms($f) & 0777);
}
echo count($files), " files\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/029.spool');
ab_rmrf(__DIR__ . '/029.failed');
ab_rmrf(__DIR__ . '/029.log');
?>
--EXPECT--
029.spool 700
029.spool/a 700
029.spool/a/b 700
029.failed 700
029.failed/x 700
file 600
1 files
