--TEST--
A shutdown function the application registers after the first submit runs before delivery, and what it submits is delivered
--INI--
asyncbatch.spool_dir={PWD}/018.spool
asyncbatch.failure_dir={PWD}/018.failed
error_log={PWD}/018.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', implode(',', $items), "\n";
    return true;
});
$r->submitItem('t', 'x');
register_shutdown_function(function () use ($r) {
    echo "app shutdown function\n";
    $r->submitItem('t', 'from the app shutdown function');
});
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/018.spool');
ab_rmrf(__DIR__ . '/018.failed');
ab_rmrf(__DIR__ . '/018.log');
?>
--EXPECT--
end of script
app shutdown function
delivered: x,from the app shutdown function
