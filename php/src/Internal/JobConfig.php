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
    /** Whether the callable is given the batch id as a second argument. By default, false. */
    public bool $withBatchId = false;

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

    /** The job config keys an HttpSink's options may hold (a sink always gets the batch id). */
    public const KEYS = ['batchSize', 'callPeriod', 'maxRetries', 'retryDelay', 'maxQueueSize'];
    /** The job config keys, in the order the messages list them. */
    public const CONFIG_KEYS = [...self::KEYS, 'withBatchId'];

    /**
     * Validates $config in the order given, on top of $base (the defaults when null);
     * the first bad key is reported.
     *
     * @throws InvalidConfigException
     */
    public static function validate(string $identifier, array $config, ?self $base = null): self
    {
        $c = $base === null ? new self() : clone $base;
        foreach ($config as $key => $value) {
            if (!in_array($key, self::CONFIG_KEYS, true)) {
                throw new InvalidConfigException(sprintf(
                    "Unknown config key '%s' for job '%s' (known keys: %s)",
                    $key,
                    $identifier,
                    implode(', ', self::CONFIG_KEYS),
                ));
            }
            $c->set($key, $value, sprintf("Config key '%s' of job '%s'", $key, $identifier));
        }
        return $c;
    }

    /**
     * Checks one job key's value and takes it. $subject names the key in the
     * message: "Config key 'batchSize' of job 'logs'".
     *
     * @throws InvalidConfigException "{subject} must be {rule}, got {got}"
     */
    public function set(string $key, mixed $value, string $subject): void
    {
        switch ($key) {
            case 'batchSize':
                $this->batchSize = self::int($subject, $value, 1);
                break;
            case 'callPeriod':
                $this->callPeriod = self::number($subject, $value, false);
                break;
            case 'maxRetries':
                $this->maxRetries = self::int($subject, $value, 0);
                break;
            case 'retryDelay':
                $this->retryDelay = self::number($subject, $value, true);
                break;
            case 'maxQueueSize':
                $this->maxQueueSize = self::int($subject, $value, 1);
                break;
            case 'withBatchId':
                if (!is_bool($value)) {
                    throw self::bad($subject, 'a bool', $value);
                }
                $this->withBatchId = $value;
                break;
            default:
                throw new \LogicException("not a job config key: $key");
        }
    }

    /** `{got}` of a message: PHP's (string) of a number, else get_debug_type(). */
    public static function got(mixed $value): string
    {
        return is_int($value) || is_float($value) ? (string) $value : get_debug_type($value);
    }

    private static function int(string $subject, mixed $value, int $min): int
    {
        if (is_int($value) && $value >= $min) {
            return $value;
        }
        throw self::bad($subject, 'an integer >= ' . $min, $value);
    }

    private static function number(string $subject, mixed $value, bool $zeroAllowed): float
    {
        if ((is_int($value) || is_float($value)) && is_finite((float) $value)
            && ($zeroAllowed ? $value >= 0 : $value > 0)) {
            return (float) $value;
        }
        throw self::bad($subject, $zeroAllowed ? 'a number >= 0' : 'a number > 0', $value);
    }

    private static function bad(string $subject, string $rule, mixed $value): InvalidConfigException
    {
        return new InvalidConfigException(sprintf('%s must be %s, got %s', $subject, $rule, self::got($value)));
    }
}
