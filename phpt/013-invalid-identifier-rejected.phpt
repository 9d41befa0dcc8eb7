--TEST--
An empty identifier, one over 128 bytes or one with a NUL byte is refused with InvalidConfigException
--INI--
asyncbatch.spool_dir={PWD}/013.spool
asyncbatch.failure_dir={PWD}/013.failed
error_log={PWD}/013.log
--FILE--
<?php
$r = new AsyncBatchRunner();
foreach (['', str_repeat('a', 129), "a\0b"] as $id) {
    try {
        $r->registerAsyncJob($id, fn () => true);
        echo "accepted\n";
    } catch (InvalidArgumentException $e) {
        echo get_class($e), ': ', $e->getMessage(), "\n";
    }
}
$r->registerAsyncJob(str_repeat('é', 64), fn () => true);
$r->registerAsyncJob("\xff binary but fine", fn () => true);
echo count($r->stats()), " jobs registered\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/013.spool');
ab_rmrf(__DIR__ . '/013.failed');
ab_rmrf(__DIR__ . '/013.log');
?>
--EXPECT--
AsyncBatch\InvalidConfigException: Invalid job identifier '': it must be 1 to 128 bytes long with no NUL byte
AsyncBatch\InvalidConfigException: Invalid job identifier 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': it must be 1 to 128 bytes long with no NUL byte
AsyncBatch\InvalidConfigException: Invalid job identifier 'a\0b': it must be 1 to 128 bytes long with no NUL byte
2 jobs registered
