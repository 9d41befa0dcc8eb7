<?php
// A Symfony front controller (public/index.php) with AsyncBatchSubscriber: the
// controller submits k items tagged req to job e2e; the callable works sleep_ms,
// then appends its batch to out (tests/src/batchlog.rs) and, to out.phase, where
// it was called from: "terminate" (by the subscriber, at kernel.terminate) or
// "shutdown" (by asyncbatch's own shutdown function). The body is the worker's pid.
//
// Query: out, req, k, sleep_ms. Needs Debian's php-symfony-http-kernel and
// php-symfony-service-contracts.
declare(strict_types=1);

// The package's autoloader, as Composer's would be (AsyncBatch\Symfony\ is in it).
require __DIR__ . '/../../php/autoload.php';
require '/usr/share/php/Symfony/Component/HttpKernel/autoload.php';
require '/usr/share/php/Symfony/Contracts/Service/autoload.php';

use AsyncBatch\Symfony\AsyncBatchSubscriber;
use Symfony\Component\EventDispatcher\EventDispatcher;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\RequestStack;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Controller\ArgumentResolver;
use Symfony\Component\HttpKernel\Controller\ControllerResolver;
use Symfony\Component\HttpKernel\HttpKernel;
use Symfony\Component\HttpKernel\KernelEvents;

$out = $_GET['out'];
$sleepMs = (int) ($_GET['sleep_ms'] ?? 0);
$phase = 'shutdown';

$runner = new AsyncBatchRunner();
$runner->registerAsyncJob('e2e', static function (array $items) use ($out, $sleepMs, &$phase): bool {
    usleep($sleepMs * 1000);
    file_put_contents($out, sprintf("batch pid=%d at=%.6f n=%d items=%s\n", getmypid(), microtime(true),
        count($items), implode(',', $items)), FILE_APPEND | LOCK_EX);
    file_put_contents("$out.phase", "$phase\n", FILE_APPEND | LOCK_EX);
    return true;
}, ['batchSize' => 100]);

$dispatcher = new EventDispatcher();
$dispatcher->addSubscriber(new AsyncBatchSubscriber($runner));
$dispatcher->addListener(KernelEvents::TERMINATE, static function () use (&$phase): void {
    $phase = 'terminate';
}, 1024);
$dispatcher->addListener(KernelEvents::REQUEST, static function ($event) use ($runner): void {
    $event->getRequest()->attributes->set('_controller', static function (Request $request) use ($runner): Response {
        $req = (string) $request->query->get('req');
        for ($i = 0; $i < (int) $request->query->get('k'); $i++) {
            $runner->submitItem('e2e', "$req-$i");
        }
        return new Response((string) getmypid());
    });
});

$kernel = new HttpKernel($dispatcher, new ControllerResolver(), new RequestStack(), new ArgumentResolver());
$request = Request::createFromGlobals();
$response = $kernel->handle($request);
$response->send();
$kernel->terminate($request, $response);
