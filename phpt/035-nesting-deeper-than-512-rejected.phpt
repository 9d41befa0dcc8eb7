--TEST--
An item nesting 512 arrays is accepted; 513 is refused, also through jsonSerialize()
--INI--
asyncbatch.spool_dir={PWD}/035.spool
asyncbatch.failure_dir={PWD}/035.failed
error_log={PWD}/035.log
--FILE--
<?php
function nest(int $levels, mixed $leaf = 'leaf'): mixed
{
    for ($i = 0; $i < $levels; $i++) {
        $leaf = [$leaf];
    }
    return $leaf;
}
final class Deep implements JsonSerializable
{
    public function __construct(private int $levels) {}
    public function jsonSerialize(): mixed
    {
        return nest($this->levels);
    }
}
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
$r->submitItem('t', nest(512));
echo "512 accepted\n";
$r->submitItem('t', nest(511, new Deep(1)));
echo "511 + an object of 1 accepted\n";
foreach ([nest(513), nest(511, new Deep(2)), new Deep(513)] as $item) {
    try {
        $r->submitItem('t', $item);
        echo "accepted!\n";
    } catch (AsyncBatch\InvalidItemException $e) {
        echo $e->getMessage(), "\n";
    }
}
var_dump($r->stats()['t']['queued']);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/035.spool');
ab_rmrf(__DIR__ . '/035.failed');
ab_rmrf(__DIR__ . '/035.log');
?>
--EXPECT--
512 accepted
511 + an object of 1 accepted
Cannot queue item for job 't': it nests deeper than 512 levels
Cannot queue item for job 't': it nests deeper than 512 levels
Cannot queue item for job 't': it nests deeper than 512 levels
int(2)
