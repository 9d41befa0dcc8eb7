--TEST--
Retries wait retryDelay * 2^(k-1), within 25% jitter
--INI--
asyncbatch.spool_dir={PWD}/046.spool
asyncbatch.failure_dir={PWD}/046.failed
error_log={PWD}/046.log
--FILE--
<?php
require __DIR__ . '/_time.inc';
$r = new AsyncBatchRunner();
$calls = [];
$r->registerAsyncJob('t', function () use (&$calls) {
    $calls[] = microtime(true);
    return false;
}, ['maxRetries' => 2, 'retryDelay' => 0.1]);
$r->submitItem('t', 1);
$r->flush('t');
echo count($calls), " calls\n";
$first = $calls[1] - $calls[0];
$second = $calls[2] - $calls[1];
// Lower bounds exact; upper bounds with room for a loaded machine.
echo 'first wait at least 0.075 s: ', $first >= 0.075 && ab_under($first, 1, 'first wait') ? 'yes' : "no ($first)", "\n";
echo 'second wait at least 0.15 s: ', $second >= 0.15 && ab_under($second, 2, 'second wait') ? 'yes' : "no ($second)", "\n";
echo 'retries: ', $r->stats()['t']['retries'], "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/046.spool');
ab_rmrf(__DIR__ . '/046.failed');
ab_rmrf(__DIR__ . '/046.log');
?>
--EXPECT--
3 calls
first wait at least 0.075 s: yes
second wait at least 0.15 s: yes
retries: 2
