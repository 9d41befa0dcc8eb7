--TEST--
Items round-trip exactly: types, key order, int and string keys, floats, NUL bytes, newlines, UTF-8 and binary
--INI--
asyncbatch.spool_dir={PWD}/007.spool
asyncbatch.failure_dir={PWD}/007.failed
error_log={PWD}/007.log
--FILE--
<?php
$items = [
    null, true, false,
    0, 1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, PHP_INT_MAX,
    -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, PHP_INT_MIN,
    0.0, -0.0, 1.0, 1.5, -2.25, 0.1, 1e300, -1.0E-300, INF, -INF,
    '', 'plain', "two\nlines\r\n", "nul\0byte\0", 'héllo wörld ✓ 😀', "\xff\xfe\x00 not utf-8", "\xed\xa0\x80",
    str_repeat('x', 31), str_repeat('y', 32), str_repeat('z', 300), str_repeat("\xfe", 300), str_repeat('w', 70000),
    ['a' => 1, 'b' => ['c' => [1, 2, ['d' => null, 'e' => [[]]]]]],
    ['12' => 'int-like string key', '012' => 'string key', -5 => 'negative', 'x' => 1.0, '' => 'empty key'],
    [3 => 'a', 1 => 'b', 0 => 'c'],
    [1 => 'not a list'],
    [], [[]], [[], ['k' => []]],
    range(1, 20),
    array_combine(array_map(fn ($i) => "k$i", range(1, 20)), range(1, 20)),
    ["ключ\0\n" => "значение", "\xff" => "\xfe"],
    [PHP_INT_MAX => 'max key', PHP_INT_MIN => 'min key'],
];
$received = [];
$r = new AsyncBatchRunner();
$r->registerAsyncJob('direct', function (array $batch) use (&$received) {
    array_push($received, ...$batch);
    return true;
}, ['batchSize' => 1000]);
foreach ($items as $item) {
    $r->submitItem('direct', $item);
}
$r->flush('direct');
echo 'direct: ', serialize($received) === serialize($items) ? 'identical' : 'DIFFERENT', "\n";
if (serialize($received) !== serialize($items)) {
    var_export($received);
}

// Through the failure store and back.
$r->registerAsyncJob('stored', fn () => false, ['batchSize' => 1000, 'maxRetries' => 0]);
foreach ($items as $item) {
    $r->submitItem('stored', $item);
}
$r->flush('stored');
$replayed = [];
$r->registerAsyncJob('stored', function (array $batch) use (&$replayed) {
    array_push($replayed, ...$batch);
    return true;
});
AsyncBatchRunner::retryFailed('stored');
echo 'failure store: ', serialize($replayed) === serialize($items) ? 'identical' : 'DIFFERENT', "\n";
if (serialize($replayed) !== serialize($items)) {
    var_export($replayed);
}

// Through the spool and back (maxQueueSize 1 spills every item).
$r->registerAsyncJob('spooled', fn () => true, ['maxQueueSize' => 1, 'batchSize' => 1000]);
foreach ($items as $item) {
    $r->submitItem('spooled', $item);
}
$unspooled = [];
$r->registerAsyncJob('spooled', function (array $batch) use (&$unspooled) {
    array_push($unspooled, ...$batch);
    return true;
}, ['batchSize' => 1000]);
$r->flush('spooled');
echo 'spool: ', serialize($unspooled) === serialize($items) ? 'identical' : 'DIFFERENT', "\n";
if (serialize($unspooled) !== serialize($items)) {
    var_export($unspooled);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/007.spool');
ab_rmrf(__DIR__ . '/007.failed');
ab_rmrf(__DIR__ . '/007.log');
?>
--EXPECT--
direct: identical
failure store: identical
spool: identical
