<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\InvalidConfigException;

/**
 * The user-facing job config keys with their defaults, and the one validation that
 * turns an identifier and a config array into settings the runtime can trust. The
 * messages name the identifier and the key exactly as docs/internals.md words them.
 */
final class JobConfig
{
    /** Longest identifier, in bytes. */
    public const MAX_IDENTIFIER = 128;

    /** Items per call of the callable. By default, 100. */
    public int $batchSize = 100;
    /** Seconds after which a partial batch is due. By default, 2.0. */
    public float $callPeriod = 2.0;
    /** Calls after the first before a batch goes to the failure store. By default, 3. */
    public int $maxRetries = 3;
    /** Seconds, the base of the exponential backoff between calls. By default, 0.1. */
    public float $retryDelay = 0.1;
    /** Items held in memory before the queue is written to the spool. By default, 10000. */
    public int $maxQueueSize = 10000;

    /** Whether $identifier can name a job: 1 to 128 bytes, no NUL. */
    public static function isIdentifier(string $identifier): bool
    {
        $n = strlen($identifier);
        return $n > 0 && $n <= self::MAX_IDENTIFIER && !str_contains($identifier, "\0");
    }

    /** @throws InvalidConfigException when the identifier cannot name a job */
    public static function checkIdentifier(string $identifier): void
    {
        if (!self::isIdentifier($identifier)) {
            throw new InvalidConfigException(sprintf(
                "Invalid job identifier '%s': it must be 1 to %d bytes long with no NUL byte",
                str_replace("\0", '\0', $identifier),
                self::MAX_IDENTIFIER,
            ));
        }
    }

    /**
     * Validates $config in the order given; the first bad key is reported.
     *
     * @throws InvalidConfigException
     */
    public static function validate(string $identifier, array $config): self
    {
        $c = new self();
        foreach ($config as $key => $value) {
            switch ($key) {
                case 'batchSize':
                    $c->batchSize = self::int($identifier, $key, $value, 1);
                    break;
                case 'callPeriod':
                    $c->callPeriod = self::number($identifier, $key, $value, false);
                    break;
                case 'maxRetries':
                    $c->maxRetries = self::int($identifier, $key, $value, 0);
                    break;
                case 'retryDelay':
                    $c->retryDelay = self::number($identifier, $key, $value, true);
                    break;
                case 'maxQueueSize':
                    $c->maxQueueSize = self::int($identifier, $key, $value, 1);
                    break;
                default:
                    throw new InvalidConfigException(sprintf(
                        "Unknown config key '%s' for job '%s' (known keys: %s)",
                        $key,
                        $identifier,
                        'batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize',
                    ));
            }
        }
        return $c;
    }

    private static function int(string $identifier, string $key, mixed $value, int $min): int
    {
        if (is_int($value) && $value >= $min) {
            return $value;
        }
        throw self::bad($identifier, $key, 'an integer >= ' . $min, $value);
    }

    private static function number(string $identifier, string $key, mixed $value, bool $zeroAllowed): float
    {
        if ((is_int($value) || is_float($value)) && is_finite((float) $value)
            && ($zeroAllowed ? $value >= 0 : $value > 0)) {
            return (float) $value;
        }
        throw self::bad($identifier, $key, $zeroAllowed ? 'a number >= 0' : 'a number > 0', $value);
    }

    private static function bad(string $identifier, string $key, string $rule, mixed $value): InvalidConfigException
    {
        $got = is_int($value) || is_float($value) ? (string) $value : get_debug_type($value);
        return new InvalidConfigException(
            sprintf("Config key '%s' of job '%s' must be %s, got %s", $key, $identifier, $rule, $got),
        );
    }
}
