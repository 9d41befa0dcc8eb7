--TEST--
Monolog context values become data: objects, JsonSerializable (normalised in turn), dates, an exception with its previous one, resources, closures, NAN and INF, throwing jsonSerialize(), deep nesting, large arrays and long traces
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/091.spool
asyncbatch.failure_dir={PWD}/091.failed
error_log={PWD}/091.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Logger;

final class User
{
    public int $id = 42;
    public string $name = 'ada';
    private string $password = 'secret';
}
final class Money implements JsonSerializable
{
    public function jsonSerialize(): mixed
    {
        // objects inside: submitItem() would refuse them as they are
        return ['amount' => 19.99, 'at' => new DateTime('2024-05-01 12:00:00.5', new DateTimeZone('UTC')), 'owner' => new User()];
    }
}
final class Broken implements JsonSerializable
{
    public function jsonSerialize(): mixed
    {
        throw new RuntimeException('no data');
    }
}
final class Name
{
    public function __toString(): string
    {
        return 'a name';
    }
}

function fail(): never
{
    try {
        throw new LogicException('connection refused', 111);
    } catch (LogicException $e) {
        throw new RuntimeException('payment failed', 0, $e);
    }
}

function recurse(int $n): never
{
    $n === 0 ? throw new OverflowException('too deep') : recurse($n - 1);
}

$closed = fopen('php://memory', 'r');
fclose($closed);
$deep = 'bottom';
for ($i = 0; $i < 10; $i++) {
    $deep = [$deep];
}

$log = new Logger('app', [new AsyncBatchHandler('logs', function (array $items): bool {
    echo mono_export($items[0]), "\n";
    $large = $items[1]['context'];
    echo 'ids: ', count($large['ids']), ' entries, the last two: ', json_encode(array_slice($large['ids'], -2, 2, true)), "\n";
    $trace = $large['recursion']['trace'];
    echo 'trace: ', count($trace), ' entries, the last two: ', json_encode(array_slice(str_replace(__DIR__, 'DIR', $trace), -2)), "\n";
    return true;
})]);
try {
    fail();
} catch (RuntimeException $e) {
    $log->error('with objects', [
        'exception' => $e,
        'user' => new User(),
        'money' => new Money(),
        'broken' => new Broken(),
        'name' => new Name(),
        'date' => new DateTimeImmutable('2024-05-01 12:34:56.789', new DateTimeZone('America/New_York')),
        'stream' => fopen('php://memory', 'r'),
        'closed' => $closed,
        'closure' => fn () => 1,
        'floats' => [NAN, INF, -INF, 1.0],
        'deep' => $deep,
    ]);
}
try {
    recurse(60);
} catch (OverflowException $e) {
    $log->info('large', ['ids' => range(1, 1002), 'recursion' => $e]);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/091.$x");
}
?>
--EXPECT--
array (
  'message' => 'with objects',
  'context' => 
  array (
    'exception' => 
    array (
      'class' => 'RuntimeException',
      'message' => 'payment failed',
      'code' => 0,
      'file' => 'DIR/091-monolog-context-values-are-normalised-to-data.php:41',
      'trace' => 
      array (
        0 => 'DIR/091-monolog-context-values-are-normalised-to-data.php:66',
      ),
      'previous' => 
      array (
        'class' => 'LogicException',
        'message' => 'connection refused',
        'code' => 111,
        'file' => 'DIR/091-monolog-context-values-are-normalised-to-data.php:39',
        'trace' => 
        array (
          0 => 'DIR/091-monolog-context-values-are-normalised-to-data.php:66',
        ),
      ),
    ),
    'user' => 
    array (
      'User' => 
      array (
        'id' => 42,
        'name' => 'ada',
      ),
    ),
    'money' => 
    array (
      'Money' => 
      array (
        'amount' => 19.99,
        'at' => '2024-05-01T12:00:00.500000+00:00',
        'owner' => 
        array (
          'User' => 
          array (
            'id' => 42,
            'name' => 'ada',
          ),
        ),
      ),
    ),
    'broken' => 
    array (
      'Broken' => '[RuntimeException thrown while normalizing: no data]',
    ),
    'name' => 
    array (
      'Name' => 'a name',
    ),
    'date' => '2024-05-01T12:34:56.789000-04:00',
    'stream' => '[resource(stream)]',
    'closed' => '[unknown(resource (closed))]',
    'closure' => 
    array (
      'Closure' => 
      array (
      ),
    ),
    'floats' => 
    array (
      0 => 'NaN',
      1 => 'INF',
      2 => '-INF',
      3 => 1.0,
    ),
    'deep' => 
    array (
      0 => 
      array (
        0 => 
        array (
          0 => 
          array (
            0 => 
            array (
              0 => 
              array (
                0 => 
                array (
                  0 => 
                  array (
                    0 => 'Over 9 levels deep, aborting normalization',
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  ),
  'level' => 400,
  'level_name' => 'ERROR',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
  ),
)
ids: 1001 entries, the last two: {"999":1000,"...":"Over 1000 items (1002 total), aborting normalization"}
trace: 51 entries, the last two: ["DIR\/091-monolog-context-values-are-normalised-to-data.php:47","... 11 more frames"]
