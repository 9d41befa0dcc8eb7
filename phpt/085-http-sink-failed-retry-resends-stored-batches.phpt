--TEST--
A batch stored after a 4xx is sent again, with the same body, by asyncbatch failed:retry once the server accepts it; a replay that fails again stays stored
--INI--
asyncbatch.spool_dir={PWD}/085.spool
asyncbatch.failure_dir={PWD}/085.failed
error_log={PWD}/085.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
$server = new AbHttpServer(__DIR__ . '/085.http');
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink($server->url, ['format' => 'ndjson']));
$server->answer(['status' => 401, 'body' => 'token expired']);
$r->submitItem('logs', ['msg' => 'first', 'n' => 1]);
$r->submitItem('logs', ['msg' => 'second', 'n' => 2.0]);
echo 'flush: ', $r->flush('logs'), ', stored: ', count(ab_ls(__DIR__ . '/085.failed', '*.fail')), "\n";

$bootstrap = __DIR__ . '/085.bootstrap.php';
file_put_contents($bootstrap, sprintf(<<<'PHP'
<?php
(new AsyncBatchRunner())->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['format' => 'ndjson']));
PHP, var_export($server->url, true)));

echo "the server still refuses:\n";
$server->answer(['status' => 403, 'body' => 'forbidden']);
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
[$status, $out] = ab_cli(['failed:list', '--json']);
$list = json_decode($out, true);
echo 'attempts ', $list[0]['attempts'] ?? '?', ', lastError ', $list[0]['lastError'] ?? '?', "\n";

echo "the server accepts:\n";
[$status, $out, $err] = ab_cli(['failed:retry', '--bootstrap', $bootstrap]);
echo $out, $err, "exit status: $status\n";
echo 'stored: ', count(ab_ls(__DIR__ . '/085.failed', '*.fail')), "\n";
$requests = $server->requests();
foreach ($requests as $q) {
    echo '  ', $q['status'], ' ', json_encode($q['body']), "\n";
}
echo 'the same body each time: ', count(array_unique(array_column($requests, 'body'))) === 1 ? 'yes' : 'no', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/085.$x");
}
@unlink(__DIR__ . '/085.bootstrap.php');
?>
--EXPECTF--
flush: 0, stored: 1
the server still refuses:
Delivered 0 items; 1 failed batch still stored in %s/085.failed
exit status: 0
attempts 2, lastError HTTP 403 Forbidden: forbidden
the server accepts:
Delivered 2 items; 0 failed batches still stored in %s/085.failed
exit status: 0
stored: 0
  401 "{\"msg\":\"first\",\"n\":1}\n{\"msg\":\"second\",\"n\":2.0}\n"
  403 "{\"msg\":\"first\",\"n\":1}\n{\"msg\":\"second\",\"n\":2.0}\n"
  200 "{\"msg\":\"first\",\"n\":1}\n{\"msg\":\"second\",\"n\":2.0}\n"
the same body each time: yes
