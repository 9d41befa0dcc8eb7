--TEST--
With the daemon runner (ini or ASYNCBATCH_RUNNER) the extension hands items off: flush() returns them, stats() counts them spooled, the callable is not called
--SKIPIF--
<?php
if (!extension_loaded('asyncbatch')) die('skip the polyfill has no daemon runner');
?>
--INI--
asyncbatch.spool_dir={PWD}/072.spool
asyncbatch.failure_dir={PWD}/072.failed
error_log={PWD}/072.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$code = <<<'PHP'
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('t', function (array $items) { echo "the callable was called\n"; return true; });
$r->submitItem('t', ['a' => 1]);
$r->submitItem('t', 'b');
$r->submitItem('t', 3);
echo 'flush: ', $r->flush('t'), "\n";
$s = $r->stats()['t'];
printf("submitted %d, queued %d, spooled %d, delivered %d, dropped %d\n",
    $s['submitted'], $s['queued'], $s['spooled'], $s['delivered'], $s['dropped']);
PHP;
$spool = __DIR__ . '/072.spool';
$cases = [
    'ini asyncbatch.runner=daemon' => [['asyncbatch.runner' => 'daemon'], []],
    'ASYNCBATCH_RUNNER=daemon over ini shutdown' => [['asyncbatch.runner' => 'shutdown'], ['ASYNCBATCH_RUNNER' => 'daemon']],
];
foreach ($cases as $what => [$ini, $env]) {
    // The spool transport: no SysV queue is involved.
    $p = proc_open(ab_php_args($ini + ['asyncbatch.transport' => 'spool']), [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
    fwrite($pipes[0], $code);
    fclose($pipes[0]);
    echo "$what:\n", stream_get_contents($pipes[1]), stream_get_contents($pipes[2]);
    echo 'exit status ', proc_close($p), "\n";
    echo 'segments: ', implode(' ', array_map(fn ($n) => preg_replace('/\.\d+\.\d+\.\d+\.seg$/', '.*.seg', $n), ab_ls($spool, '*.seg'))), "\n";
    foreach (ab_ls($spool, '*.seg') as $n) {
        unlink("$spool/$n");
    }
}
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/072.spool');
ab_rmrf(__DIR__ . '/072.failed');
ab_rmrf(__DIR__ . '/072.log');
?>
--EXPECT--
ini asyncbatch.runner=daemon:
flush: 3
submitted 3, queued 0, spooled 3, delivered 0, dropped 0
exit status 0
segments: t.*.seg
ASYNCBATCH_RUNNER=daemon over ini shutdown:
flush: 3
submitted 3, queued 0, spooled 3, delivered 0, dropped 0
exit status 0
segments: t.*.seg
