--TEST--
A failed batch is stored in the documented format: ABFAIL, version 2, length, CRC-32, then the body map in order, its batchId a UUIDv7
--INI--
asyncbatch.spool_dir={PWD}/023.spool
asyncbatch.failure_dir={PWD}/023.failed
error_log={PWD}/023.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/023.failed';
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', fn () => false, ['maxRetries' => 1, 'retryDelay' => 0]);
$before = microtime(true);
$r->submitItem('t', ['msg' => 'hello', 'n' => 1]);
$r->submitItem('t', 2.5);
$r->flush('t');
$after = microtime(true);
$files = ab_ls($dir);
echo count($files), " file\n";
$name = $files[0];
echo 'name: ', preg_match('/^t\.\d{16}\.' . getmypid() . '\.[0-9a-f]{8}\.fail$/', $name) ? 'ok' : $name, "\n";
printf("dir mode %o, file mode %o\n", fileperms($dir) & 0777, fileperms("$dir/$name") & 0777);
$f = fmt_read_fail("$dir/$name");
var_dump($f['magic'], $f['version'], $f['lengthOk'], $f['crcOk']);
$body = [];
foreach ($f['body'] as [$k, $v]) {
    $body[$k] = $v;
}
echo 'keys: ', implode(' ', array_keys($body)), "\n";
var_dump($body['v'], $body['job'], $body['attempts'], $body['lastError']);
var_dump(is_float($body['firstAttemptAt']), is_float($body['failedAt']));
var_dump($before <= $body['firstAttemptAt'], $body['firstAttemptAt'] <= $body['failedAt'], $body['failedAt'] <= $after);
var_dump($body['pid'] === getmypid(), $body['host'] === gethostname());
echo 'batchId: ', preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/D', $body['batchId']) ? 'a UUIDv7' : $body['batchId'], "\n";
echo json_encode($body['items']), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/023.spool');
ab_rmrf(__DIR__ . '/023.failed');
ab_rmrf(__DIR__ . '/023.log');
?>
--EXPECT--
1 file
name: ok
dir mode 700, file mode 600
string(6) "ABFAIL"
int(2)
bool(true)
bool(true)
keys: v job attempts lastError firstAttemptAt failedAt pid host batchId items
int(2)
string(1) "t"
int(2)
string(23) "callable returned false"
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
bool(true)
batchId: a UUIDv7
[{"__map":[["msg","hello"],["n",1]]},2.5]
