<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * How long to wait before a retry: the extension's policy (core/src/retry.rs),
 * `retryDelay * 2^(k-1)` before retry k (1-based), moved uniformly within ±25% of
 * itself, at most 30 seconds. Whether to retry at all is Delivery's decision.
 *
 * The randomness comes from a jitter source, a callable returning a float in
 * [0, 1); by default mt_rand(). A source that always returns 0.5 turns the jitter
 * off.
 */
final class Backoff
{
    /** No delay exceeds this many seconds. */
    public const MAX = 30.0;
    /** Each delay moves within ±this fraction of itself. */
    public const JITTER = 0.25;

    /** @var \Closure(): float */
    private \Closure $unit;

    /**
     * @param float $base seconds before the first retry (the job's retryDelay)
     * @param (callable(): float)|null $unit the jitter source, uniform in [0, 1)
     */
    public function __construct(private readonly float $base, ?callable $unit = null)
    {
        $this->unit = $unit === null ? self::mtRand(...) : $unit(...);
    }

    /** Seconds to wait before retry number $retry (1-based). */
    public function delay(int $retry): float
    {
        // 2^62 is far past the cap whatever the base; the shift stays in range.
        $exp = min(max($retry - 1, 0), 62);
        $raw = $this->base * (1 << $exp);
        $factor = 1.0 + self::JITTER * (2.0 * ($this->unit)() - 1.0);
        return max(0.0, min(self::MAX, $raw * $factor));
    }

    /** The default jitter source: uniform in [0, 1), as the extension's. */
    private static function mtRand(): float
    {
        return mt_rand() / (mt_getrandmax() + 1.0);
    }
}
