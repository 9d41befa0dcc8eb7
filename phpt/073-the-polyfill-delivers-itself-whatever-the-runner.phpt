--TEST--
The polyfill has no daemon runner: with asyncbatch.runner=daemon it delivers at the end of the request
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die('skip the extension has a daemon runner');
?>
--INI--
asyncbatch.spool_dir={PWD}/073.spool
asyncbatch.failure_dir={PWD}/073.failed
asyncbatch.runner=daemon
error_log={PWD}/073.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) { echo 'delivered: ', json_encode($items), "\n"; return true; });
$r->submitItem('t', 'a');
$r->submitItem('t', 'b');
echo "end of the script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/073.spool');
ab_rmrf(__DIR__ . '/073.failed');
ab_rmrf(__DIR__ . '/073.log');
?>
--EXPECT--
end of the script
delivered: ["a","b"]
