--TEST--
In the extension an item submitted after delivery is queued, then delivered by the shutdown function registered again
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill has no RSHUTDOWN and spools late items at once');
?>
--INI--
asyncbatch.spool_dir={PWD}/065.spool
asyncbatch.failure_dir={PWD}/065.failed
error_log={PWD}/065.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('t', 'first');
register_shutdown_function(function () use ($r) {
    register_shutdown_function(function () use ($r) {
        $r->submitItem('t', 'late');
        $s = $r->stats()['t'];
        echo "after the late submit: queued {$s['queued']}, spooled {$s['spooled']}\n";
    });
});
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/065.spool');
ab_rmrf(__DIR__ . '/065.failed');
ab_rmrf(__DIR__ . '/065.log');
?>
--EXPECT--
delivered: first
after the late submit: queued 1, spooled 0
delivered: late
