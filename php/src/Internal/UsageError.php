<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * A command line the CLI cannot run: an unknown command or option, a missing value
 * or argument. The CLI prints it and exits with status 2.
 */
final class UsageError extends \InvalidArgumentException
{
}
