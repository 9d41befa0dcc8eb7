--TEST--
What a process under the spool runner left in the spool is delivered, in batches, by the next process that registers the jobs under the shutdown runner, at the end of its request
--INI--
asyncbatch.spool_dir={PWD}/142.spool
asyncbatch.failure_dir={PWD}/142.failed
error_log={PWD}/142.log
--FILE--
<?php
require __DIR__ . '/_child.inc';
$spool = __DIR__ . '/142.spool';
$jobs = <<<'PHP'
<?php
$r = new AsyncBatchRunner();
foreach (['t', 'u'] as $job) {
    $r->registerAsyncJob($job, function (array $items) use ($job) {
        echo "$job: ", json_encode($items), "\n";
        return true;
    }, ['batchSize' => 2]);
}

PHP;
[$status, $out, $err] = ab_run_php($jobs . <<<'PHP'
foreach (['a', 'b', 'c'] as $item) {
    $r->submitItem('t', $item);
}
$r->submitItem('u', 'x');
echo "spool runner: end of the request\n";
PHP, ['asyncbatch.runner' => 'spool']);
echo $out, $err, "exit status $status\n";
echo 'jobs with segments: ', implode(' ', array_unique(array_map(fn ($n) => strtok($n, '.'), ab_ls($spool, '*.seg')))), "\n";

[$status, $out, $err] = ab_run_php($jobs . <<<'PHP'
echo "shutdown runner: end of the request\n";
PHP, ['asyncbatch.runner' => 'shutdown']);
echo $out, $err, "exit status $status\n";
echo 'files left in the spool: ', json_encode(ab_ls($spool)), "\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
ab_rmrf(__DIR__ . '/142.spool');
ab_rmrf(__DIR__ . '/142.failed');
ab_rmrf(__DIR__ . '/142.log');
?>
--EXPECT--
spool runner: end of the request
exit status 0
jobs with segments: t u
shutdown runner: end of the request
t: ["a","b"]
t: ["c"]
u: ["x"]
exit status 0
files left in the spool: []
