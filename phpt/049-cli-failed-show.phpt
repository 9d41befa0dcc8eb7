--TEST--
asyncbatch failed:show prints a failure file (by name or path) as pretty JSON; a corrupt or missing one is an error
--INI--
asyncbatch.spool_dir={PWD}/049.spool
asyncbatch.failure_dir={PWD}/049.failed
error_log={PWD}/049.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 0]);
$r->submitItem('t', ['msg' => "hello\nworld", 'n' => 1.0, 'bin' => "\0x", 'utf' => '✓ /', 'list' => [1, [], ['k' => null]]]);
$r->submitItem('t', "\xff");
$r->flush('t');
[$name] = ab_ls(__DIR__ . '/049.failed', '*.fail');
[$status, $out, $err] = ab_cli(['failed:show', $name]);
echo $out, $err, "exit status: $status\n";
[$status, $byPath] = ab_cli(['failed:show', __DIR__ . "/049.failed/$name"]);
echo $byPath === $out ? "same by path\n" : $byPath;
file_put_contents(__DIR__ . '/049.failed/t.0000000000000001.1.00000000.fail', "ABFAIL\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00");
foreach (['t.0000000000000001.1.00000000.fail', 'missing.fail'] as $arg) {
    [$status, $out, $err] = ab_cli(['failed:show', $arg]);
    echo $out, $err, "exit status: $status\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/049.spool');
ab_rmrf(__DIR__ . '/049.failed');
ab_rmrf(__DIR__ . '/049.log');
?>
--EXPECTF--
{
    "file": "%s/049.failed/t.%d.%d.%x.fail",
    "format": 2,
    "v": 2,
    "job": "t",
    "batchId": "%x-%x-%x-%x-%x",
    "attempts": 1,
    "lastError": "callable returned false",
    "firstAttemptAt": %f,
    "failedAt": %f,
    "pid": %d,
    "host": "%s",
    "items": [
        {
            "msg": "hello\nworld",
            "n": 1.0,
            "bin": "\u0000x",
            "utf": "✓ /",
            "list": [
                1,
                [],
                {
                    "k": null
                }
            ]
        },
        "�"
    ]
}
exit status: 0
same by path
asyncbatch: corrupt failure file %s/049.failed/t.0000000000000001.1.00000000.fail: unsupported format version 3
exit status: 1
asyncbatch: no failure file %s/049.failed/missing.fail
exit status: 1
