--TEST--
endRequest(), which a long-running worker calls once each response is sent, delivers what the end of a php-fpm request would (every job's queue), returns the count, records a throwing callable's batch as failed without throwing, and leaves what comes after it to the next call or to the end of the script
--INI--
asyncbatch.spool_dir={PWD}/126.spool
asyncbatch.failure_dir={PWD}/126.failed
error_log={PWD}/126.log
--FILE--
<?php
$r = new AsyncBatchRunner();
echo 'no job registered: ', $r->endRequest(), "\n";
// 'logs': a batch and a period no request of this test reaches; 'events': batches of
// 2, which the CLI would deliver at the submit that fills one, but not once the
// script has called endRequest(): then every batch waits for it (phpt 150).
$print = function (string $job): Closure {
    return function (array $items) use ($job): bool {
        echo "  $job: ", implode(', ', $items), "\n";
        return true;
    };
};
$r->registerAsyncJob('logs', $print('logs'), ['batchSize' => 1000, 'callPeriod' => 3600]);
$r->registerAsyncJob('events', $print('events'), ['batchSize' => 2, 'callPeriod' => 3600]);

foreach ([['a1', 'a2'], [], ['c1', 'c2', 'c3']] as $n => $items) {
    echo 'request ', $n + 1, ":\n";
    foreach ($items as $item) {
        $r->submitItem('logs', $item);
        $r->submitItem('events', "e-$item");
    }
    $n = $r->endRequest();
    echo "  endRequest(): $n\n";
}

echo "a callable that throws:\n";
$r->registerAsyncJob('logs', function (array $items): bool {
    throw new RuntimeException('collector down');
}, ['batchSize' => 1000, 'callPeriod' => 3600, 'maxRetries' => 0]);
$r->submitItem('logs', 'd1');
$n = $r->endRequest();
echo "  endRequest(): $n\n";
echo '  failed batches: ', count(glob(__DIR__ . '/126.failed/*')), "\n";

$r->registerAsyncJob('logs', $print('logs'), ['batchSize' => 1000, 'callPeriod' => 3600]);
$r->submitItem('logs', 'z1');
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/126.$x");
}
?>
--EXPECT--
no job registered: 0
request 1:
  logs: a1, a2
  events: e-a1, e-a2
  endRequest(): 4
request 2:
  endRequest(): 0
request 3:
  logs: c1, c2, c3
  events: e-c1, e-c2
  events: e-c3
  endRequest(): 6
a callable that throws:
  endRequest(): 0
  failed batches: 1
end of script
  logs: z1
