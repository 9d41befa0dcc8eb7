--TEST--
A Monolog record that submitItem() refuses as too large (asyncbatch.max_item_size) is queued once more, cut down, with the reason in extra.truncated: strings cut to 1 KiB on a character boundary, arrays to 10 entries and 3 levels
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/095.spool
asyncbatch.failure_dir={PWD}/095.failed
error_log={PWD}/095.log
asyncbatch.max_item_size=20000
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

use AsyncBatch\Monolog\AsyncBatchHandler;
use Monolog\Logger;

/** Long strings shown as their length and their last characters. */
function brief(mixed $v): mixed
{
    if (is_string($v) && strlen($v) > 120) {
        return strlen($v) . ' bytes, ending ' . substr($v, -50);
    }
    return is_array($v) ? array_map('brief', $v) : $v;
}

$log = new Logger('app', [new AsyncBatchHandler('logs', function (array $items): bool {
    foreach ($items as $item) {
        echo mono_export(brief($item)), "\n";
    }
    return true;
})]);
$log->info('small', ['fits' => true]);
// The 1024th byte is the first of 'é': the cut leaves 1023 bytes.
$log->warning(str_repeat('a', 1023) . 'é' . str_repeat('b', 30000), ['fits' => false]);
$log->error('large context', [
    'body' => str_repeat('x', 50000),
    'ids' => range(1, 12),
    'nested' => ['a' => ['b' => 'kept', 'c' => ['d' => 'dropped']]],
]);
(new AsyncBatchRunner())->flush('logs');
echo 'submitted: ', (new AsyncBatchRunner())->stats()['logs']['submitted'], "\n";
echo 'error log: ', json_encode(ab_log_lines(__DIR__ . '/095.log', '')), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/095.$x");
}
?>
--EXPECT--
array (
  'message' => 'small',
  'context' => 
  array (
    'fits' => true,
  ),
  'level' => 200,
  'level_name' => 'INFO',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
  ),
)
array (
  'message' => '1051 bytes, ending aaaaaaaaaaaaaaaaaaaaaa... (31025 bytes, truncated)',
  'context' => 
  array (
    'fits' => false,
  ),
  'level' => 300,
  'level_name' => 'WARNING',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
    'truncated' => 'Cannot queue item for job \'logs\': it is 31142 bytes encoded, over asyncbatch.max_item_size (20000)',
  ),
)
array (
  'message' => 'large context',
  'context' => 
  array (
    'body' => '1052 bytes, ending xxxxxxxxxxxxxxxxxxxxxx... (50000 bytes, truncated)',
    'ids' => 
    array (
      0 => 1,
      1 => 2,
      2 => 3,
      3 => 4,
      4 => 5,
      5 => 6,
      6 => 7,
      7 => 8,
      8 => 9,
      9 => 10,
      '...' => 'Over 10 entries (12 total), truncated',
    ),
    'nested' => 
    array (
      'a' => 
      array (
        'b' => 'kept',
        'c' => '[array of 1 entry, truncated]',
      ),
    ),
  ),
  'level' => 400,
  'level_name' => 'ERROR',
  'channel' => 'app',
  'datetime' => 'NOW',
  'extra' => 
  array (
    'truncated' => 'Cannot queue item for job \'logs\': it is 50176 bytes encoded, over asyncbatch.max_item_size (20000)',
  ),
)
submitted: 3
error log: []
