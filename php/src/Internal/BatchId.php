<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Batch ids: a UUIDv7 given to a batch when it is first cut for a call, kept with it
 * through its retries, the failure store and the spool, and sent as the HTTP sink's
 * `Idempotency-Key` (or to a callable that asks for it), so that a receiver can drop
 * the duplicates at-least-once delivery allows. Handled in their text form: 36
 * characters, lowercase hex with dashes.
 */
final class BatchId
{
    /** A new id: the unix time in milliseconds, big endian, then 74 random bits. */
    public static function new(): string
    {
        $b = substr(pack('J', (int) (microtime(true) * 1000)), 2) . random_bytes(10);
        $b[6] = chr(0x70 | (ord($b[6]) & 0x0f));
        $b[8] = chr(0x80 | (ord($b[8]) & 0x3f));
        return self::text($b);
    }

    /**
     * The id of the $i-th piece (0-based) of batch $id, when maxBatchBytes splits it:
     * its last two bytes XORed with $i + 1, so that a split made again (a later run,
     * failed:retry) sends the same ids.
     */
    public static function piece(string $id, int $i): string
    {
        $b = (string) hex2bin(str_replace('-', '', $id));
        $tail = unpack('n', $b, 14)[1] ^ (($i + 1) & 0xffff);
        return self::text(substr($b, 0, 14) . pack('n', $tail));
    }

    /** Whether $v is an id in its text form (as a spool frame or a failure file must hold it). */
    public static function isValid(mixed $v): bool
    {
        return is_string($v)
            && preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/D', $v) === 1;
    }

    /** The text form of 16 bytes. */
    private static function text(string $bytes): string
    {
        $h = bin2hex($bytes);
        return substr($h, 0, 8) . '-' . substr($h, 8, 4) . '-' . substr($h, 12, 4) . '-'
            . substr($h, 16, 4) . '-' . substr($h, 20);
    }
}
