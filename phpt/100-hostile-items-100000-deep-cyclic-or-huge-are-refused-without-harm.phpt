--TEST--
Items 100,000 levels deep, cyclic, or far over the size limit are refused with a clear error; no stack overflow, nothing else lost
--INI--
asyncbatch.spool_dir={PWD}/100.spool
asyncbatch.failure_dir={PWD}/100.failed
asyncbatch.max_item_size=65536
error_log={PWD}/100.log
--FILE--
<?php
// Arrays nest 100,000 deep here; a chain of objects stops at 20,000 because PHP
// 8.2 itself overflows its stack when it frees 100,000 nested objects.
final class Wrap implements JsonSerializable
{
    public function __construct(private mixed $inner) {}
    public function jsonSerialize(): mixed
    {
        return $this->inner;
    }
}
final class Mirror implements JsonSerializable
{
    public function jsonSerialize(): mixed
    {
        return ['me' => $this];
    }
}
$deep = 'leaf';
for ($i = 0; $i < 100000; $i++) {
    $deep = [$deep];
}
$chain = 'leaf';
for ($i = 0; $i < 20000; $i++) {
    $chain = new Wrap($chain);
}
$cyclic = ['a' => 1];
$cyclic['self'] = &$cyclic;

$r = new AsyncBatchRunner();
// Nothing is due before the end (building the items takes seconds under valgrind,
// more than the default callPeriod of 2 s).
$r->registerAsyncJob('t', function (array $items) {
    echo 'delivered: ', json_encode($items), "\n";
    return true;
}, ['callPeriod' => 3600]);
$r->submitItem('t', 'before');
$hostile = [
    'arrays 100,000 deep' => $deep,
    'objects 20,000 deep' => $chain,
    'a cyclic array' => $cyclic,
    'an object returning itself' => new Mirror(),
    'a 10 MB string' => str_repeat('x', 10_000_000),
    'a 1,000,000-entry list' => range(1, 1_000_000),
    'a deep item in a list' => ['ok', ['ok', $deep]],
];
foreach ($hostile as $what => $item) {
    try {
        $r->submitItem('t', $item);
        echo "$what: accepted!\n";
    } catch (AsyncBatch\InvalidItemException $e) {
        echo "$what: ", $e->getMessage(), "\n";
    }
}
$r->submitItem('t', 'after');
var_dump($r->stats()['t']['queued']);
unset($deep, $chain, $cyclic, $hostile);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/100.spool');
ab_rmrf(__DIR__ . '/100.failed');
ab_rmrf(__DIR__ . '/100.log');
?>
--EXPECTF--
arrays 100,000 deep: Cannot queue item for job 't': it nests deeper than 512 levels
objects 20,000 deep: Cannot queue item for job 't': it nests deeper than 512 levels
a cyclic array: Cannot queue item for job 't': it nests deeper than 512 levels
an object returning itself: Cannot queue item for job 't': it nests deeper than 512 levels
a 10 MB string: Cannot queue item for job 't': it is 10000005 bytes encoded, over asyncbatch.max_item_size (65536)
a 1,000,000-entry list: Cannot queue item for job 't': it is %d bytes encoded, over asyncbatch.max_item_size (65536)
a deep item in a list: Cannot queue item for job 't': it nests deeper than 512 levels
int(2)
delivered: ["before","after"]
