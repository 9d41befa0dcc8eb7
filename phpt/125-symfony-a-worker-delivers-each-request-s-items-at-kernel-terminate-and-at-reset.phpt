--TEST--
Symfony: in a long-running worker (one process, many requests, no request shutdown between them) AsyncBatchSubscriber delivers each request's items at kernel.terminate, before the next request is handled, and at reset (the kernel.reset tag); a batch whose callable throws goes to the failure store and the worker serves on
--SKIPIF--
<?php if (!is_file('/usr/share/php/Symfony/Component/HttpKernel/autoload.php')
    || !is_file('/usr/share/php/Symfony/Contracts/Service/autoload.php')) die('skip php-symfony-http-kernel, php-symfony-service-contracts are not installed'); ?>
--INI--
asyncbatch.spool_dir={PWD}/125.spool
asyncbatch.failure_dir={PWD}/125.failed
error_log={PWD}/125.log
--FILE--
<?php
require __DIR__ . '/_symfony.inc';

use Symfony\Component\HttpFoundation\Request;

$r = new AsyncBatchRunner();
// A batch and a period no request of this test reaches: only the subscriber delivers.
$r->registerAsyncJob('events', function (array $items): bool {
    echo '  delivered: ', implode(', ', $items), "\n";
    return true;
}, ['batchSize' => 1000, 'callPeriod' => 3600]);
[$kernel, $subscriber] = sf_kernel($r, 'events');

foreach (['a1,a2', 'b1', '', 'c1,c2,c3'] as $n => $items) {
    $request = Request::create('/?items=' . $items);
    $response = $kernel->handle($request);
    echo 'request ', $n + 1, ': ', $response->getContent(), "\n";
    $kernel->terminate($request, $response);
}

echo "items submitted outside a request, then reset():\n";
$r->submitItem('events', 'd1');
$subscriber->reset();

echo "a job that throws on delivery: the worker goes on\n";
$r->registerAsyncJob('events', function (array $items): bool {
    throw new RuntimeException('collector down');
}, ['batchSize' => 1000, 'callPeriod' => 3600, 'maxRetries' => 0]);
$request = Request::create('/?items=e1');
$response = $kernel->handle($request);
$kernel->terminate($request, $response);
echo 'failed batches: ', count(glob(__DIR__ . '/125.failed/*')), "\n";
echo "end of script\n";
?>
--CLEAN--
<?php
require __DIR__ . '/_child.inc';
foreach (['spool', 'failed', 'log'] as $x) {
    ab_rmrf(__DIR__ . "/125.$x");
}
?>
--EXPECT--
request 1: ok a1,a2
  delivered: a1, a2
request 2: ok b1
  delivered: b1
request 3: ok 
request 4: ok c1,c2,c3
  delivered: c1, c2, c3
items submitted outside a request, then reset():
  delivered: d1
a job that throws on delivery: the worker goes on
failed batches: 1
end of script
