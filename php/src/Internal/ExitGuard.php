<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Held by Runtime from the first use in a request, so that PHP destroys it after
 * the shutdown functions: when an application's shutdown function called exit()
 * and the runner's own never ran, what is still queued goes to the spool here (the
 * extension does the same at RSHUTDOWN), for the next request, a drain or the
 * daemon. No callable runs from a destructor.
 */
final class ExitGuard
{
    public function __destruct()
    {
        Runtime::spoolLeftovers();
    }
}
