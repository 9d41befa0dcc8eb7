--TEST--
An item submitted by a shutdown function that runs after delivery is still delivered
--INI--
asyncbatch.spool_dir={PWD}/017.spool
asyncbatch.failure_dir={PWD}/017.failed
error_log={PWD}/017.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('t', 'first');
register_shutdown_function(function () use ($r) {
    echo "app shutdown function 1\n";
    register_shutdown_function(function () use ($r) {
        echo "app shutdown function 2\n";
        $r->submitItem('t', 'late');
    });
});
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/017.spool');
ab_rmrf(__DIR__ . '/017.failed');
ab_rmrf(__DIR__ . '/017.log');
?>
--EXPECT--
end of script
app shutdown function 1
delivered: first
app shutdown function 2
delivered: late
