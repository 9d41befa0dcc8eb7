--TEST--
An invalid asyncbatch.* ini value gives one warning naming the setting and the default is used
--INI--
asyncbatch.spool_dir={PWD}/040.spool
asyncbatch.failure_dir={PWD}/040.failed
error_log={PWD}/040.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
[$status, $out, $err] = ab_run_php(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered ', strlen($items[0]), " bytes\n";
    return true;
});
$r->submitItem('t', str_repeat('x', 5000)); // fits the default max_item_size
$r->flush('t');
PHP, [
    'display_startup_errors' => '1',
    'asyncbatch.runner' => 'bogus',
    'asyncbatch.shutdown_budget' => 'abc',
    'asyncbatch.max_item_size' => '-5',
    'asyncbatch.failure_dir_max_mb' => '-1',
]);
$all = $out . $err;
foreach ([
    "asyncbatch: invalid value 'bogus' for asyncbatch.runner, using auto",
    "asyncbatch: invalid value 'abc' for asyncbatch.shutdown_budget, using 10",
    "asyncbatch: invalid value '-5' for asyncbatch.max_item_size, using 1048576",
    "asyncbatch: invalid value '-1' for asyncbatch.failure_dir_max_mb, using 64",
] as $message) {
    echo substr_count($all, $message), ' x ', $message, "\n";
}
echo str_contains($all, 'delivered 5000 bytes') ? "default used\n" : $all;
echo "exit status: $status\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/040.spool');
ab_rmrf(__DIR__ . '/040.failed');
ab_rmrf(__DIR__ . '/040.log');
?>
--EXPECT--
1 x asyncbatch: invalid value 'bogus' for asyncbatch.runner, using auto
1 x asyncbatch: invalid value 'abc' for asyncbatch.shutdown_budget, using 10
1 x asyncbatch: invalid value '-5' for asyncbatch.max_item_size, using 1048576
1 x asyncbatch: invalid value '-1' for asyncbatch.failure_dir_max_mb, using 64
default used
exit status: 0
