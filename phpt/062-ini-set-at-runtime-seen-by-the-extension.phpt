--TEST--
ini_set() of an asyncbatch setting at runtime takes effect in the extension
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill reads asyncbatch.* with get_cfg_var() and does not see ini_set()');
?>
--INI--
asyncbatch.spool_dir={PWD}/062.spool
asyncbatch.failure_dir={PWD}/062.failed
error_log={PWD}/062.log
--FILE--
<?php
var_dump(ini_set('asyncbatch.max_item_size', '10') !== false);
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
try {
    $r->submitItem('t', str_repeat('x', 20));
    echo "accepted\n";
} catch (AsyncBatch\InvalidItemException $e) {
    echo $e->getMessage(), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/062.spool');
ab_rmrf(__DIR__ . '/062.failed');
ab_rmrf(__DIR__ . '/062.log');
?>
--EXPECT--
bool(true)
Cannot queue item for job 't': it is 21 bytes encoded, over asyncbatch.max_item_size (10)
