--TEST--
An exception thrown by jsonSerialize() reaches the caller unchanged and nothing is queued
--INI--
asyncbatch.spool_dir={PWD}/037.spool
asyncbatch.failure_dir={PWD}/037.failed
error_log={PWD}/037.log
--FILE--
<?php
final class Broken implements JsonSerializable
{
    public function jsonSerialize(): mixed
    {
        throw new LogicException('cannot serialize this', 42);
    }
}
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => true);
try {
    $r->submitItem('t', ['ok' => 1, 'broken' => new Broken()]);
} catch (Throwable $e) {
    echo get_class($e), ': ', $e->getMessage(), ' (', $e->getCode(), ")\n";
}
$s = $r->stats()['t'];
echo "submitted {$s['submitted']}, queued {$s['queued']}\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/037.spool');
ab_rmrf(__DIR__ . '/037.failed');
ab_rmrf(__DIR__ . '/037.log');
?>
--EXPECT--
LogicException: cannot serialize this (42)
submitted 0, queued 0
