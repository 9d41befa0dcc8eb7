--TEST--
retryFailed() throws StorageException naming a failure directory writable by others
--INI--
asyncbatch.spool_dir={PWD}/025.spool
asyncbatch.failure_dir={PWD}/025.failed
error_log={PWD}/025.log
--FILE--
<?php
$dir = __DIR__ . '/025.failed';
mkdir($dir);
chmod($dir, 0757);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
try {
    AsyncBatchRunner::retryFailed('t');
} catch (AsyncBatch\StorageException $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
    var_dump($e instanceof RuntimeException);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/025.spool');
ab_rmrf(__DIR__ . '/025.failed');
ab_rmrf(__DIR__ . '/025.log');
?>
--EXPECTF--
AsyncBatch\StorageException: asyncbatch: refusing to use failure directory %s/025.failed: writable by group or others (mode 0757)
bool(true)
