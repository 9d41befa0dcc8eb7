<?php

declare(strict_types=1);

namespace AsyncBatch\Symfony;

use AsyncBatch\Internal\Log;
use AsyncBatchRunner;
use Symfony\Component\EventDispatcher\EventSubscriberInterface;
use Symfony\Component\HttpKernel\KernelEvents;
use Symfony\Contracts\Service\ResetInterface;

/**
 * Ends asyncbatch's request (AsyncBatchRunner::endRequest(): every job's items
 * delivered, within asyncbatch.shutdown_budget) at the end of each request of a
 * Symfony application: on `kernel.terminate` (after the response is sent) and on
 * reset (the `kernel.reset`
 * tag, which the services resetter calls between the requests of a long-running
 * worker: Symfony Runtime with RoadRunner, Swoole or FrankenPHP, a Messenger worker).
 *
 * ```yaml
 * # config/services.yaml (autoconfigure adds both tags from the interfaces)
 * services:
 *     AsyncBatch\Symfony\AsyncBatchSubscriber:
 *         tags: [kernel.event_subscriber, { name: kernel.reset, method: reset }]
 * ```
 *
 * Under php-fpm asyncbatch delivers after the response without it; with it, the
 * delivery happens at kernel.terminate, which Symfony runs after
 * fastcgi_finish_request() too. In a worker, where no request ends, it is what
 * delivers the items of request N before request N+1 (see README: long-running
 * workers). A failure is written to PHP's error log, never thrown: the next
 * request must not fail for the telemetry of the last one.
 */
final class AsyncBatchSubscriber implements EventSubscriberInterface, ResetInterface
{
    private AsyncBatchRunner $runner;

    public function __construct(?AsyncBatchRunner $runner = null)
    {
        $this->runner = $runner ?? new AsyncBatchRunner();
    }

    public static function getSubscribedEvents(): array
    {
        // Late: after the application's own terminate listeners have logged.
        return [KernelEvents::TERMINATE => ['onTerminate', -1024]];
    }

    public function onTerminate(): void
    {
        $this->endRequest('kernel.terminate');
    }

    public function reset(): void
    {
        $this->endRequest('reset');
    }

    private function endRequest(string $when): void
    {
        try {
            $this->runner->endRequest();
        } catch (\Throwable $e) {
            Log::caught("the Symfony subscriber could not deliver at $when", $e);
        }
    }
}
