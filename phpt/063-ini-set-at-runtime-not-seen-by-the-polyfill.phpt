--TEST--
The polyfill reads asyncbatch settings from php.ini and -d only; ini_set() at runtime does not change them
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die('skip the extension sees ini_set() of its settings');
?>
--INI--
asyncbatch.spool_dir={PWD}/063.spool
asyncbatch.failure_dir={PWD}/063.failed
error_log={PWD}/063.log
--FILE--
<?php
var_dump(ini_set('asyncbatch.max_item_size', '10'));
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
$r->submitItem('t', str_repeat('x', 20));
echo "accepted\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/063.spool');
ab_rmrf(__DIR__ . '/063.failed');
ab_rmrf(__DIR__ . '/063.log');
?>
--EXPECT--
bool(false)
accepted
