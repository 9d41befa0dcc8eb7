--TEST--
A batch that fails again in retryFailed() stays stored, with attempts + 1, the new lastError and a later failedAt
--INI--
asyncbatch.spool_dir={PWD}/043.spool
asyncbatch.failure_dir={PWD}/043.failed
error_log={PWD}/043.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/043.failed';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'stubborn');
$r->flush('t');
[$name] = ab_ls($dir, '*.fail');
$read = function () use ($dir, $name) {
    $out = [];
    foreach (fmt_read_fail("$dir/$name")['body'] as [$k, $v]) {
        $out[$k] = $v;
    }
    return $out;
};
$before = $read();
usleep(10000);
$r->registerAsyncJob('t', function (array $items) {
    throw new RuntimeException('still down');
});
var_dump(AsyncBatchRunner::retryFailed('t'));
$after = $read();
var_dump(ab_ls($dir) === [$name]);
echo "attempts {$before['attempts']} -> {$after['attempts']}\n";
echo "lastError: {$after['lastError']}\n";
var_dump($after['failedAt'] > $before['failedAt'], $after['firstAttemptAt'] === $before['firstAttemptAt'], $after['items'] === ['stubborn']);
echo 'stats lastError: ', $r->stats()['t']['lastError'], "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/043.spool');
ab_rmrf(__DIR__ . '/043.failed');
ab_rmrf(__DIR__ . '/043.log');
?>
--EXPECT--
int(0)
bool(true)
attempts 1 -> 2
lastError: RuntimeException: still down
bool(true)
bool(true)
bool(true)
stats lastError: RuntimeException: still down
