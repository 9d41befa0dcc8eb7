--TEST--
A JsonSerializable item is queued as the result of jsonSerialize(), recursively and at submit time
--INI--
asyncbatch.spool_dir={PWD}/008.spool
asyncbatch.failure_dir={PWD}/008.failed
error_log={PWD}/008.log
--FILE--
<?php
final class Point implements JsonSerializable
{
    public function __construct(public int $x, public int $y) {}
    public function jsonSerialize(): mixed
    {
        return ['x' => $this->x, 'y' => $this->y];
    }
}
final class Wrapper implements JsonSerializable
{
    public function __construct(private mixed $inner) {}
    public function jsonSerialize(): mixed
    {
        return $this->inner;
    }
}
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    var_export($items);
    echo "\n";
    return true;
});
$p = new Point(1, 2);
$r->submitItem('t', $p);
$p->x = 99; // too late: the data was taken at submit
$r->submitItem('t', ['p' => new Point(3, 4), 'w' => new Wrapper(new Point(5, 6)), 'list' => [new Wrapper('text')]]);
$r->submitItem('t', new Wrapper(1.5));
$r->submitItem('t', new Wrapper(null));
$r->flush('t');
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/008.spool');
ab_rmrf(__DIR__ . '/008.failed');
ab_rmrf(__DIR__ . '/008.log');
?>
--EXPECT--
array (
  0 => 
  array (
    'x' => 1,
    'y' => 2,
  ),
  1 => 
  array (
    'p' => 
    array (
      'x' => 3,
      'y' => 4,
    ),
    'w' => 
    array (
      'x' => 5,
      'y' => 6,
    ),
    'list' => 
    array (
      0 => 'text',
    ),
  ),
  2 => 1.5,
  3 => NULL,
)
