--TEST--
Identifiers with any bytes are escaped in file names (long ones cut and hashed) and read back exactly
--INI--
asyncbatch.spool_dir={PWD}/034.spool
asyncbatch.failure_dir={PWD}/034.failed
error_log={PWD}/034.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$ids = ["a b/c.d\xff%_-Z9", str_repeat('é', 64)];
$r = new AsyncBatchRunner();
foreach ($ids as $id) {
    $r->registerAsyncJob($id, fn () => false, ['maxRetries' => 0]);
    $r->submitItem($id, 'item for ' . strlen($id) . '-byte id');
    $r->flush($id);
}
$crc = sprintf('%08x', crc32($ids[1]));
foreach (ab_ls(__DIR__ . '/034.failed') as $name) {
    $name = preg_replace('/\.\d{16}\.\d+\.[0-9a-f]{8}\.fail$/', '.{micros}.{pid}.{rand}.fail', $name);
    echo str_replace('~' . $crc . '.', '~{crc32}.', $name), "\n";
}
foreach ($ids as $id) {
    $r->registerAsyncJob($id, function (array $items) use ($id) {
        echo 'replayed to the ', strlen($id), '-byte id: ', implode(',', $items), "\n";
        return true;
    });
}
var_dump(AsyncBatchRunner::retryFailed());
// The same key names spool segments.
$r->registerAsyncJob($ids[0], fn () => true, ['maxQueueSize' => 1]);
$r->submitItem($ids[0], 'spilled');
foreach (ab_ls_held(__DIR__ . '/034.spool') as $name) {
    echo preg_replace('/\.\d{16}\.\d+\.\d+\.seg$/', '.{micros}.{pid}.{seq}.seg', $name), "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/034.spool');
ab_rmrf(__DIR__ . '/034.failed');
ab_rmrf(__DIR__ . '/034.log');
?>
--EXPECT--
%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C~{crc32}.{micros}.{pid}.{rand}.fail
a%20b%2Fc%2Ed%FF%25_-Z9.{micros}.{pid}.{rand}.fail
replayed to the 13-byte id: item for 13-byte id
replayed to the 128-byte id: item for 128-byte id
int(2)
a%20b%2Fc%2Ed%FF%25_-Z9.{micros}.{pid}.{seq}.seg
