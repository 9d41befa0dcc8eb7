--TEST--
A failure file written by hand to the documented format (with an unknown extra key) is listed, shown and replayed
--INI--
asyncbatch.spool_dir={PWD}/060.spool
asyncbatch.failure_dir={PWD}/060.failed
error_log={PWD}/060.log
date.timezone=UTC
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/060.failed';
$body = fmt_mp([
    'v' => 1,
    'job' => 't',
    'attempts' => 4,
    'lastError' => 'HTTP 503',
    'firstAttemptAt' => 1700000000.25,
    'failedAt' => 1700000000.5,
    'pid' => 4242,
    'host' => 'web-1',
    'items' => [['msg' => 'hello'], 2],
    'addedLater' => 'readers ignore unknown keys',
]);
fmt_put($dir, 't.1700000000250000.4242.0a1b2c3d.fail', "ABFAIL" . pack('vVV', 1, strlen($body), crc32($body)) . $body);
[$status, $out, $err] = ab_cli(['failed:list']);
echo $out, $err;
[$status, $out, $err] = ab_cli(['failed:list', '--json']);
$f = json_decode($out, true)[0];
echo "{$f['job']} {$f['items']} {$f['attempts']} {$f['firstAttemptAt']} {$f['failedAt']} {$f['pid']} {$f['host']}\n";
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) {
    echo 'replayed: ', json_encode($items), "\n";
    return true;
});
var_dump(AsyncBatchRunner::retryFailed('t'));
var_dump(ab_ls($dir));
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/060.spool');
ab_rmrf(__DIR__ . '/060.failed');
ab_rmrf(__DIR__ . '/060.log');
?>
--EXPECTF--
NAME                                   JOB  ITEMS  ATTEMPTS  FAILED AT                  LAST ERROR
t.1700000000250000.4242.0a1b2c3d.fail  t    2      4         2023-11-14T22:13:20+00:00  HTTP 503
1 failed batch, 2 items in %s/060.failed
t 2 4 1700000000.25 1700000000.5 4242 web-1
replayed: [{"msg":"hello"},2]
int(2)
array(0) {
}
