--TEST--
The Monolog handler and its formatter are not defined by the extension: php/autoload.php loads them from the package with the extension loaded as without it, and only when used
--SKIPIF--
<?php if (!is_file('/usr/share/php/Monolog/autoload.php')) die('skip php-monolog is not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/098.spool
asyncbatch.failure_dir={PWD}/098.failed
error_log={PWD}/098.log
--FILE--
<?php
require __DIR__ . '/_monolog.inc';

$classes = ['AsyncBatch\Monolog\AsyncBatchHandler', 'AsyncBatch\Monolog\AsyncBatchFormatter'];
foreach ($classes as $class) {
    echo $class, ' defined before use: ', class_exists($class, false) ? 'yes' : 'no', "\n";
}
$handler = new AsyncBatch\Monolog\AsyncBatchHandler('logs', fn () => true);
echo 'formatter: ', get_class($handler->getFormatter()), "\n";
foreach ($classes as $class) {
    $c = new ReflectionClass($class);
    echo $class, ': ', $c->isInternal() ? 'internal' : str_replace(ab_root(), 'ROOT', $c->getFileName()), "\n";
}
echo 'a Monolog handler: ', $handler instanceof Monolog\Handler\HandlerInterface ? 'yes' : 'no', "\n";
echo 'AsyncBatchRunner from the extension: ', (new ReflectionClass('AsyncBatchRunner'))->isInternal() === extension_loaded('asyncbatch') ? 'when loaded' : 'wrong', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/098.$x");
}
?>
--EXPECT--
AsyncBatch\Monolog\AsyncBatchHandler defined before use: no
AsyncBatch\Monolog\AsyncBatchFormatter defined before use: no
formatter: AsyncBatch\Monolog\AsyncBatchFormatter
AsyncBatch\Monolog\AsyncBatchHandler: ROOT/php/src/Monolog/AsyncBatchHandler.php
AsyncBatch\Monolog\AsyncBatchFormatter: ROOT/php/src/Monolog/AsyncBatchFormatter.php
a Monolog handler: yes
AsyncBatchRunner from the extension: when loaded
