<?php

declare(strict_types=1);

namespace AsyncBatch;

/**
 * Thrown by registerAsyncJob() for a job identifier that cannot be used, an unknown
 * config key or a bad config value; the message names the culprit.
 */
class InvalidConfigException extends \InvalidArgumentException
{
}
