--TEST--
A failure file of version 1 (no batchId) is listed and shown with batchId null; failed:retry sends it with a new id, and when that retry fails the file is rewritten as version 2 keeping that id, which the next retry sends again
--INI--
asyncbatch.spool_dir={PWD}/134.spool
asyncbatch.failure_dir={PWD}/134.failed
error_log={PWD}/134.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/134.failed';
$name = 'logs.1700000000250000.4242.0a1b2c3d.fail';
// Version 1, by hand: "ABFAIL", u16 LE 1, u32 LE body length, u32 LE CRC-32, then
// the nine keys.
$body = fmt_mp([
    'v' => 1,
    'job' => 'logs',
    'attempts' => 3,
    'lastError' => 'HTTP 503 Service Unavailable',
    'firstAttemptAt' => 1700000000.25,
    'failedAt' => 1700000000.5,
    'pid' => 4242,
    'host' => 'web-1',
    'items' => [['msg' => 'old'], 2],
]);
fmt_put($dir, $name, 'ABFAIL' . pack('vVV', 1, strlen($body), crc32($body)) . $body);

[$status, $out, $err] = ab_cli(['failed:list', '--json']);
echo $err;
$row = json_decode($out, true)[0];
echo "failed:list --json: job {$row['job']}, items {$row['items']}, attempts {$row['attempts']}, batchId ", var_export($row['batchId'], true), "\n";
[$status, $out, $err] = ab_cli(['failed:show', $name]);
echo $err;
$shown = json_decode($out, true);
echo 'failed:show: format ', $shown['format'], ', v ', $shown['v'], ', batchId ', var_export($shown['batchId'], true), "\n";

$server = new AbHttpServer(__DIR__ . '/134.http');
$bootstrap = __DIR__ . '/134.bootstrap.php';
file_put_contents($bootstrap, sprintf(<<<'PHP'
<?php
(new AsyncBatchRunner())->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s));
PHP, var_export($server->url, true)));

echo "the server refuses:\n";
$server->answer(['status' => 500, 'body' => 'oops']);
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
$first = AbHttpServer::header($server->requests()[0], 'Idempotency-Key');
echo 'sent a UUIDv7: ', preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/D', (string) $first) ? 'yes' : var_export($first, true), "\n";
echo 'the file: ', implode(' ', ab_ls($dir)), "\n";
$f = fmt_read_fail("$dir/$name");
$pairs = $f['body'];
$b = array_column($pairs, 1, 0);
echo "version {$f['version']}, length ok ", var_export($f['lengthOk'], true), ', crc ok ', var_export($f['crcOk'], true), "\n";
echo 'keys: ', implode(' ', array_column($pairs, 0)), "\n";
echo "v {$b['v']}, job {$b['job']}, attempts {$b['attempts']}, lastError {$b['lastError']}, firstAttemptAt {$b['firstAttemptAt']}, pid {$b['pid']}, host {$b['host']}\n";
echo 'batchId: ', $b['batchId'] === $first ? 'the id sent' : var_export($b['batchId'], true), ', items ', json_encode($b['items']), "\n";
[$status, $out] = ab_cli(['failed:list', '--json']);
echo 'failed:list --json: batchId ', json_decode($out, true)[0]['batchId'] === $first ? 'the id sent' : 'another', "\n";

echo "the server accepts:\n";
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
echo 'stored: ', count(ab_ls($dir, '*.fail')), "\n";
foreach ($server->requests() as $q) {
    echo '  ', $q['status'], ' ', $q['body'], ' ', AbHttpServer::header($q, 'Idempotency-Key') === $first ? 'the first id' : 'another id', "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/134.$x");
}
@unlink(__DIR__ . '/134.bootstrap.php');
?>
--EXPECTF--
failed:list --json: job logs, items 2, attempts 3, batchId NULL
failed:show: format 1, v 1, batchId NULL
the server refuses:
Delivered 0 items; 1 failed batch still stored in %s/134.failed
exit status: 0
sent a UUIDv7: yes
the file: logs.1700000000250000.4242.0a1b2c3d.fail
version 2, length ok true, crc ok true
keys: v job attempts lastError firstAttemptAt failedAt pid host batchId items
v 2, job logs, attempts 4, lastError HTTP 500 Internal Server Error: oops, firstAttemptAt 1700000000.25, pid 4242, host web-1
batchId: the id sent, items [{"__map":[["msg","old"]]},2]
failed:list --json: batchId the id sent
the server accepts:
Delivered 2 items; 0 failed batches still stored in %s/134.failed
exit status: 0
stored: 0
  500 [{"msg":"old"},2] the first id
  200 [{"msg":"old"},2] the first id
