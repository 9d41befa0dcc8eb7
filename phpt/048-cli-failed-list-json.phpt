--TEST--
asyncbatch failed:list --json gives the fields of each failure file as JSON
--INI--
asyncbatch.spool_dir={PWD}/048.spool
asyncbatch.failure_dir={PWD}/048.failed
error_log={PWD}/048.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', 'a');
$r->flush('t');
file_put_contents(__DIR__ . '/048.failed/t.0000000000000001.1.00000000.fail', 'junk');
[$status, $out, $err] = ab_cli(['failed:list', '--json']);
echo $err, "exit status: $status\n";
foreach (json_decode($out, true) as $f) {
    if ($f['corrupt']) {
        echo "corrupt: {$f['name']} ({$f['error']})\n";
        continue;
    }
    echo implode(' ', array_keys($f)), "\n";
    echo "job {$f['job']}, items {$f['items']}, attempts {$f['attempts']}, lastError {$f['lastError']}\n";
    var_dump(is_float($f['failedAt']), $f['pid'] === getmypid(), $f['path'] === __DIR__ . '/048.failed/' . $f['name']);
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/048.spool');
ab_rmrf(__DIR__ . '/048.failed');
ab_rmrf(__DIR__ . '/048.log');
?>
--EXPECT--
exit status: 0
corrupt: t.0000000000000001.1.00000000.fail (bad magic)
name path corrupt job batchId items attempts firstAttemptAt failedAt lastError pid host
job t, items 1, attempts 1, lastError callable returned false
bool(true)
bool(true)
bool(true)
