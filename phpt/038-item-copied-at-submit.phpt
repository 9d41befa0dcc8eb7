--TEST--
The item is copied at submit: later changes to the array, to a reference inside it or to an object do not reach the queue
--INI--
asyncbatch.spool_dir={PWD}/038.spool
asyncbatch.failure_dir={PWD}/038.failed
error_log={PWD}/038.log
--FILE--
<?php
final class Box implements JsonSerializable
{
    public function __construct(public string $v) {}
    public function jsonSerialize(): mixed
    {
        return $this->v;
    }
}
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo json_encode($items), "\n";
    return true;
});
$a = ['x' => 1, 'nested' => ['y' => 2]];
$r->submitItem('t', $a);
$a['x'] = 100;
$a['nested']['y'] = 200;
$v = 'before';
$withRef = ['ref' => &$v];
$r->submitItem('t', $withRef);
$v = 'after';
$box = new Box('before');
$r->submitItem('t', [$box]);
$box->v = 'after';
$r->flush('t');
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/038.spool');
ab_rmrf(__DIR__ . '/038.failed');
ab_rmrf(__DIR__ . '/038.log');
?>
--EXPECT--
[{"x":1,"nested":{"y":2}},{"ref":"before"},["before"]]
