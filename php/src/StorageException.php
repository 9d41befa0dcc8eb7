<?php

declare(strict_types=1);

namespace AsyncBatch;

/**
 * Thrown when a spool or failure directory cannot be used and the caller asked for
 * it directly (retryFailed()); the message names the directory and the reason.
 */
class StorageException extends \RuntimeException
{
}
