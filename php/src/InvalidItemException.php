<?php

declare(strict_types=1);

namespace AsyncBatch;

/**
 * Thrown by submitItem() for an item that cannot be queued (an object that is not
 * JsonSerializable, a resource, too deep, too large); nothing of it is queued.
 */
class InvalidItemException extends \InvalidArgumentException
{
}
