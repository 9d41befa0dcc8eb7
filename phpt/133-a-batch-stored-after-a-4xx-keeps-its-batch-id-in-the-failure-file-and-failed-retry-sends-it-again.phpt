--TEST--
A batch stored after a 4xx keeps its batch id: the failure file is of version 2 and holds it, failed:list --json and failed:show give it, and asyncbatch failed:retry sends the same Idempotency-Key each time, the file keeping the id while the server refuses
--INI--
asyncbatch.spool_dir={PWD}/133.spool
asyncbatch.failure_dir={PWD}/133.failed
error_log={PWD}/133.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_format.inc';
$dir = __DIR__ . '/133.failed';
$server = new AbHttpServer(__DIR__ . '/133.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink($server->url));
$server->answer(['status' => 400, 'body' => 'bad field']);
$r->submitItem('logs', ['msg' => 'first']);
$r->submitItem('logs', ['msg' => 'second']);
echo 'flush: ', $r->flush('logs'), "\n";
$sent = AbHttpServer::header($server->requests()[0], 'Idempotency-Key');
echo 'sent a UUIDv7: ', preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/D', (string) $sent) ? 'yes' : var_export($sent, true), "\n";

$files = ab_ls($dir, '*.fail');
echo count($files), " failure file\n";
$f = fmt_read_fail("$dir/$files[0]");
$body = array_column($f['body'], 1, 0);
echo "version {$f['version']}, v {$body['v']}, keys ", implode(' ', array_column($f['body'], 0)), "\n";
echo 'its batchId is the key sent: ', $body['batchId'] === $sent ? 'yes' : var_export($body['batchId'], true), "\n";

[$status, $out, $err] = ab_cli(['failed:list', '--json']);
echo $err;
$row = json_decode($out, true)[0];
echo 'failed:list --json: batchId ', $row['batchId'] === $sent ? 'the key sent' : var_export($row['batchId'], true), ", attempts {$row['attempts']}\n";
[$status, $out, $err] = ab_cli(['failed:show', $files[0]]);
echo $err;
$shown = json_decode($out, true);
echo 'failed:show: format ', $shown['format'], ', batchId ', $shown['batchId'] === $sent ? 'the key sent' : var_export($shown['batchId'], true),
    ', after job: ', array_search('batchId', array_keys($shown), true) === array_search('job', array_keys($shown), true) + 1 ? 'yes' : 'no', "\n";

$bootstrap = __DIR__ . '/133.bootstrap.php';
file_put_contents($bootstrap, sprintf(<<<'PHP'
<?php
(new AsyncBatchRunner())->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s));
PHP, var_export($server->url, true)));

echo "the server still refuses:\n";
$server->answer(['status' => 409, 'body' => 'conflict']);
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
$f = fmt_read_fail("$dir/$files[0]");
$body = array_column($f['body'], 1, 0);
echo "version {$f['version']}, attempts {$body['attempts']}, lastError {$body['lastError']}, batchId ", $body['batchId'] === $sent ? 'the same' : 'another', "\n";

echo "the server accepts:\n";
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
echo 'stored: ', count(ab_ls($dir, '*.fail')), "\n";
foreach ($server->requests() as $q) {
    echo '  ', $q['status'], ' ', $q['body'], ' ', AbHttpServer::header($q, 'Idempotency-Key') === $sent ? 'the same key' : 'another key', "\n";
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/133.$x");
}
@unlink(__DIR__ . '/133.bootstrap.php');
?>
--EXPECTF--
flush: 0
sent a UUIDv7: yes
1 failure file
version 2, v 2, keys v job attempts lastError firstAttemptAt failedAt pid host batchId items
its batchId is the key sent: yes
failed:list --json: batchId the key sent, attempts 1
failed:show: format 2, batchId the key sent, after job: yes
the server still refuses:
Delivered 0 items; 1 failed batch still stored in %s/133.failed
exit status: 0
version 2, attempts 2, lastError HTTP 409 Conflict: conflict, batchId the same
the server accepts:
Delivered 2 items; 0 failed batches still stored in %s/133.failed
exit status: 0
stored: 0
  400 [{"msg":"first"},{"msg":"second"}] the same key
  409 [{"msg":"first"},{"msg":"second"}] the same key
  200 [{"msg":"first"},{"msg":"second"}] the same key
