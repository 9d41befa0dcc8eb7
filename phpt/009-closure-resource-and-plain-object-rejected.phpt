--TEST--
A closure, a resource and a plain object are rejected with InvalidItemException naming where they are, and nothing is queued
--INI--
asyncbatch.spool_dir={PWD}/009.spool
asyncbatch.failure_dir={PWD}/009.failed
error_log={PWD}/009.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
$r->submitItem('t', 'ok');
$before = $r->stats()['t'];
$res = fopen('php://memory', 'r');
$closed = fopen('php://memory', 'r');
fclose($closed);
$bad = [
    fn () => 1,
    $res,
    new stdClass(),
    ['fine' => 1, 'ctx' => [new ArrayObject()]],
    ['a' => ['b' => [2 => $res]]],
    [0, 1, [7 => $closed]],
    ['ok' => 'x', 'cb' => 'strlen', 'obj' => new DateTimeImmutable('2020-01-01')],
];
foreach ($bad as $item) {
    try {
        $r->submitItem('t', $item);
        echo "accepted!\n";
    } catch (InvalidArgumentException $e) {
        echo get_class($e), ': ', $e->getMessage(), "\n";
    }
}
var_dump($r->stats()['t'] === $before);
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/009.spool');
ab_rmrf(__DIR__ . '/009.failed');
ab_rmrf(__DIR__ . '/009.log');
?>
--EXPECT--
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item is an object of class Closure; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item is a resource; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item is an object of class stdClass; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item['ctx'][0] is an object of class ArrayObject; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item['a']['b'][2] is a resource; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item[2][7] is a resource; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
AsyncBatch\InvalidItemException: Cannot queue item for job 't': $item['obj'] is an object of class DateTimeImmutable; items may contain only null, bool, int, float, string, arrays and JsonSerializable objects
bool(true)
