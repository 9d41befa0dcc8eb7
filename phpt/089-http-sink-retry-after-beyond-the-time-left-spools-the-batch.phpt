--TEST--
A process that ends while its sink job waits out a long Retry-After does not wait for it: the batch is spooled and the next process that registers the job posts it, with the same Idempotency-Key
--INI--
asyncbatch.spool_dir={PWD}/089.spool
asyncbatch.failure_dir={PWD}/089.failed
error_log={PWD}/089.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
require __DIR__ . '/_http.inc';
require __DIR__ . '/_time.inc';
$server = new AbHttpServer(__DIR__ . '/089.http');
$code = sprintf(<<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', new AsyncBatch\HttpSink(%s, ['retryDelay' => 0.001]));
foreach (array_slice($argv, 1) as $item) {
    $r->submitItem('logs', $item);
}
PHP, var_export($server->url, true));
file_put_contents(__DIR__ . '/089.job.php', $code);
$ini = ['asyncbatch.shutdown_budget' => '1', 'asyncbatch.exit_timeout' => '1'];

$server->answer(['status' => 503, 'headers' => ['Retry-After' => '120'], 'body' => 'maintenance']);
$t = microtime(true);
[$status, $out, $err] = ab_run([...ab_php_args($ini), __DIR__ . '/089.job.php', 'a', 'b']);
$took = microtime(true) - $t;
echo $out, $err, "exit status: $status\n";
// Waiting out the Retry-After would take 120 s.
echo 'ended within 10 s: ', ab_under($took, 10, 'the process ended') ? 'yes' : "no ($took s)", "\n";
echo 'spool segments: ', count(ab_ls(__DIR__ . '/089.spool', '*.seg')), "\n";
echo 'failure files: ', count(ab_ls(__DIR__ . '/089.failed', '*.fail')), "\n";

[$status, $out, $err] = ab_run([...ab_php_args($ini), __DIR__ . '/089.job.php', 'c']);
echo $out, $err, "exit status: $status\n";
$requests = $server->waitRequests(3, 5);
$lines = array_map(fn ($q) => $q['status'] . ' ' . $q['body'], $requests);
// The spooled batch and the new item: in either order.
$later = array_slice($lines, 1);
sort($later);
foreach ([$lines[0], ...$later] as $line) {
    echo "  $line\n";
}
echo 'spool segments: ', count(ab_ls(__DIR__ . '/089.spool', '*.seg')), "\n";
// The spooled batch is the batch that was called: posted again with its id.
$keys = [];
foreach ($requests as $q) {
    $keys[$q['body']][] = AbHttpServer::header($q, 'Idempotency-Key');
}
echo 'the same Idempotency-Key for ["a","b"]: ', count($keys['["a","b"]'] ?? []) === 2 && count(array_unique($keys['["a","b"]'])) === 1 ? 'yes' : 'no', "\n";
echo 'another one for ["c"]: ', in_array($keys['["c"]'][0] ?? null, $keys['["a","b"]'] ?? [], true) ? 'no' : 'yes', "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log', 'http'] as $x) {
    ab_rmrf(__DIR__ . "/089.$x");
}
@unlink(__DIR__ . '/089.job.php');
?>
--EXPECT--
exit status: 0
ended within 10 s: yes
spool segments: 1
failure files: 0
exit status: 0
  503 ["a","b"]
  200 ["a","b"]
  200 ["c"]
spool segments: 0
the same Idempotency-Key for ["a","b"]: yes
another one for ["c"]: yes
