<?php

declare(strict_types=1);

namespace AsyncBatch;

/**
 * Thrown by submitItem(), flush() and retryFailed() for an identifier that is not
 * registered in this request.
 */
class UnknownJobException extends \InvalidArgumentException
{
}
