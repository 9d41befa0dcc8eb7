<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Where the runner's shutdown function stands in this request ("Delivery", steps 1
 * to 4, in docs/internals.md). Runtime::$phase holds one of these; only Runtime
 * moves it on.
 */
enum Phase
{
    /** Nothing registered yet in this request. */
    case Idle;
    /** Shutdown function registered, not run yet. */
    case Armed;
    /** First run done: registered again to run after the application's shutdown functions. */
    case Deferred;
    /** Delivering at shutdown. */
    case Delivering;
    /** Delivered; later items go to the spool. */
    case Done;
    /** Registered again after delivery, for items that arrived late; they still go to the spool. */
    case Late;
}
