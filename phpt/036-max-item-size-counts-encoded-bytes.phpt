--TEST--
asyncbatch.max_item_size limits the MessagePack-encoded size of one item; larger items are refused with the size
--INI--
asyncbatch.spool_dir={PWD}/036.spool
asyncbatch.failure_dir={PWD}/036.failed
error_log={PWD}/036.log
asyncbatch.max_item_size=100
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
$items = [
    'str8 of 98 bytes (100 encoded)' => str_repeat('x', 98),
    'str8 of 99 bytes (101 encoded)' => str_repeat('x', 99),
    'map with a 95-byte value (100 encoded)' => ['k' => str_repeat('x', 95)],
    'map with a 96-byte value (101 encoded)' => ['k' => str_repeat('x', 96)],
    'bin8 of 99 bytes (101 encoded)' => str_repeat("\xff", 99),
    'list of 97 small ints (100 encoded)' => array_fill(0, 97, 1),
    'list of 11 floats (100 encoded)' => array_fill(0, 11, 0.5),
];
foreach ($items as $what => $item) {
    try {
        $r->submitItem('t', $item);
        echo "$what: accepted\n";
    } catch (AsyncBatch\InvalidItemException $e) {
        echo "$what: ", $e->getMessage(), "\n";
    }
}
var_dump($r->stats()['t']['submitted']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/036.spool');
ab_rmrf(__DIR__ . '/036.failed');
ab_rmrf(__DIR__ . '/036.log');
?>
--EXPECT--
str8 of 98 bytes (100 encoded): accepted
str8 of 99 bytes (101 encoded): Cannot queue item for job 't': it is 101 bytes encoded, over asyncbatch.max_item_size (100)
map with a 95-byte value (100 encoded): accepted
map with a 96-byte value (101 encoded): Cannot queue item for job 't': it is 101 bytes encoded, over asyncbatch.max_item_size (100)
bin8 of 99 bytes (101 encoded): Cannot queue item for job 't': it is 101 bytes encoded, over asyncbatch.max_item_size (100)
list of 97 small ints (100 encoded): accepted
list of 11 floats (100 encoded): accepted
int(4)
