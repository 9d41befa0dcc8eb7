--TEST--
Spool segments and failure files written by the other implementation (extension or polyfill) are read back exactly
--SKIPIF--
<?php
require __DIR__ . '/_child.inc';
if (ab_other_php_args() === null) die('skip the extension is not built, so there is no other implementation to compare with');
if (!function_exists('posix_kill')) die('skip needs posix_kill');
?>
--INI--
asyncbatch.spool_dir={PWD}/067.spool
asyncbatch.failure_dir={PWD}/067.failed
error_log={PWD}/067.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$code = <<<'PHP'
<?php
require getenv('AB_ITEMS');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('spooled', fn () => true, ['maxQueueSize' => 1, 'batchSize' => 1000]);
$r->registerAsyncJob('failed', fn () => false, ['maxRetries' => 0, 'batchSize' => 1000]);
foreach ($items as $item) {
    $r->submitItem('spooled', $item);
    $r->submitItem('failed', $item);
}
$r->flush('failed');
echo 'written by ', extension_loaded('asyncbatch') ? 'the extension' : 'the polyfill', "\n";
posix_kill(getmypid(), SIGKILL); // leave the spool as it is: no delivery at shutdown
PHP;
$itemsFile = __DIR__ . '/067.items.php';
file_put_contents($itemsFile, <<<'PHP'
<?php
$items = [
    null, true, false, 0, -1, 128, -129, 65536, -32769, PHP_INT_MAX, PHP_INT_MIN, 4294967296,
    0.0, -0.0, 1.5, 1e300, INF, -INF, '', "two\nlines", "nul\0byte", 'héllo ✓ 😀', "\xff\xfe binary",
    str_repeat('z', 300), str_repeat("\xfe", 70000),
    ['a' => 1, 'b' => ['c' => [1, 2, ['d' => null]]]], ['12' => 'int-like', '012' => 'string', -5 => 'neg'],
    [3 => 'a', 1 => 'b'], [], [[]], range(1, 20), ["\xff" => "\xfe"],
];
PHP);
putenv("AB_ITEMS=$itemsFile");
[$status, $out] = ab_run(ab_other_php_args(), $code);
echo $out;
require $itemsFile;
$got = ['spooled' => [], 'failed' => []];
$r = new AsyncBatchRunner();
foreach ($got as $job => $_) {
    $r->registerAsyncJob($job, function (array $batch) use (&$got, $job) {
        array_push($got[$job], ...$batch);
        return true;
    }, ['batchSize' => 1000]);
}
echo 'read by ', extension_loaded('asyncbatch') ? 'the extension' : 'the polyfill', "\n";
$r->flush('spooled');
AsyncBatchRunner::retryFailed('failed');
foreach ($got as $job => $received) {
    echo $job, ': ', serialize($received) === serialize($items) ? 'identical' : 'DIFFERENT', "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/067.spool');
ab_rmrf(__DIR__ . '/067.failed');
ab_rmrf(__DIR__ . '/067.log');
@unlink(__DIR__ . '/067.items.php');
?>
--EXPECTF--
written by the %s
read by the %s
spooled: identical
failed: identical
