--TEST--
In the polyfill an item submitted after delivery is written to the spool at once, then delivered by the shutdown function registered again
--SKIPIF--
<?php
if (extension_loaded('asyncbatch')) die('skip the extension queues late items (it spools them at RSHUTDOWN)');
?>
--INI--
asyncbatch.spool_dir={PWD}/064.spool
asyncbatch.failure_dir={PWD}/064.failed
error_log={PWD}/064.log
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
ab_rmrf(__DIR__ . '/064.spool');
ab_rmrf(__DIR__ . '/064.failed');
ab_rmrf(__DIR__ . '/064.log');
?>
--EXPECT--
delivered: first
after the late submit: queued 0, spooled 1
delivered: late
