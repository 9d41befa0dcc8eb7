--TEST--
In the CLI a due batch is delivered at the submitItem() that finds it due, until the script calls endRequest(): from then on (a long-running worker that ends its requests itself) submitItem() never runs a callable, and every due batch, full or past its callPeriod, waits for the next endRequest()
--INI--
asyncbatch.spool_dir={PWD}/150.spool
asyncbatch.failure_dir={PWD}/150.failed
error_log={PWD}/150.log
--FILE--
<?php
$r = new AsyncBatchRunner();
$r->registerAsyncJob('logs', function (array $items): bool {
    echo '  delivered: ', implode(', ', $items), "\n";
    return true;
}, ['batchSize' => 2, 'callPeriod' => 0.01]);

echo "a CLI script, before any endRequest():\n";
foreach (['a1', 'a2', 'a3'] as $item) {
    echo "  submit $item\n";
    $r->submitItem('logs', $item);
}
$n = $r->endRequest();
echo "  endRequest(): $n\n";

echo "a worker's request: a full batch\n";
foreach (['b1', 'b2', 'b3', 'b4', 'b5'] as $item) {
    echo "  submit $item\n";
    $r->submitItem('logs', $item);
}
$n = $r->endRequest();
echo "  endRequest(): $n\n";

echo "a worker's request: a batch past its callPeriod\n";
$r->submitItem('logs', 'c1');
usleep(50000);
echo "  submit c2\n";
$r->submitItem('logs', 'c2');
echo '  stats: queued ', $r->stats()['logs']['queued'], "\n";
$n = $r->endRequest();
echo "  endRequest(): $n\n";

echo "after the last request\n";
$r->submitItem('logs', 'd1');
$r->submitItem('logs', 'd2');
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/150.$x");
}
?>
--EXPECT--
a CLI script, before any endRequest():
  submit a1
  submit a2
  delivered: a1, a2
  submit a3
  delivered: a3
  endRequest(): 1
a worker's request: a full batch
  submit b1
  submit b2
  submit b3
  submit b4
  submit b5
  delivered: b1, b2
  delivered: b3, b4
  delivered: b5
  endRequest(): 5
a worker's request: a batch past its callPeriod
  submit c2
  stats: queued 2
  delivered: c1, c2
  endRequest(): 2
after the last request
end of script
  delivered: d1, d2
