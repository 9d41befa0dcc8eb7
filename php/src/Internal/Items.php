<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\InvalidItemException;

// Imported so that the compiler turns them into opcodes: this is the hot path of submitItem().
use function count;
use function is_array;
use function is_object;
use function is_scalar;
use function is_string;
use function strlen;

/**
 * Checks an item at submit and makes the copy that is queued: arrays are rebuilt
 * (so references and later changes by the caller do not reach the queue),
 * JsonSerializable objects are replaced by their data, and anything else that is
 * not data is refused with the message of docs/internals.md.
 *
 * While walking it adds up a cheap upper bound of the MessagePack size; only when
 * that bound is over asyncbatch.max_item_size is the item really encoded to check.
 */
final class Items
{
    /** Deepest nesting of arrays an item may have (the item itself is level 1). */
    public const MAX_DEPTH = 512;

    /**
     * Returns the copy of $item to queue.
     *
     * @throws InvalidItemException
     */
    public static function accept(string $identifier, mixed $item, int $maxSize): mixed
    {
        $bound = 9;
        try {
            if (is_array($item)) {
                $item = self::copy($item, 1, $bound);
            } elseif (is_string($item)) {
                $bound += strlen($item);
            } elseif ($item !== null && !is_scalar($item)) {
                $item = self::other($item, 1, $bound);
            }
        } catch (BadItem $e) {
            throw new InvalidItemException(sprintf("Cannot queue item for job '%s': %s", $identifier, $e->describe()));
        }
        if ($bound > $maxSize) {
            $n = strlen(MsgPack::encode($item));
            if ($n > $maxSize) {
                throw new InvalidItemException(sprintf(
                    "Cannot queue item for job '%s': it is %d bytes encoded, over asyncbatch.max_item_size (%d)",
                    $identifier,
                    $n,
                    $maxSize,
                ));
            }
        }
        return $item;
    }

    /**
     * Copies one array at nesting level $depth. The bound counts, per element, 18
     * bytes plus the length of a string key and of a string value: more than any
     * key and scalar value can take in MessagePack.
     */
    private static function copy(array $a, int $depth, int &$bound): array
    {
        if ($depth > self::MAX_DEPTH) {
            throw BadItem::tooDeep();
        }
        $bound += 5 + 18 * count($a);
        $out = [];
        foreach ($a as $k => $v) {
            if (is_string($k)) {
                $bound += strlen($k);
            }
            if (is_string($v)) {
                $bound += strlen($v);
            } elseif (is_array($v)) {
                try {
                    $v = self::copy($v, $depth + 1, $bound);
                } catch (BadItem $e) {
                    throw $e->in($k);
                }
            } elseif ($v !== null && !is_scalar($v)) {
                try {
                    $v = self::other($v, $depth + 1, $bound);
                } catch (BadItem $e) {
                    throw $e->in($k);
                }
            }
            $out[$k] = $v;
        }
        return $out;
    }

    /** An object or a resource found at nesting level $depth. */
    private static function other(mixed $v, int $depth, int &$bound): mixed
    {
        for ($unwrapped = 0; $v instanceof \JsonSerializable; $unwrapped++) {
            if ($unwrapped === self::MAX_DEPTH) {
                throw BadItem::tooDeep();
            }
            $v = $v->jsonSerialize();
        }
        if (is_array($v)) {
            return self::copy($v, $depth, $bound);
        }
        if (is_string($v)) {
            $bound += strlen($v);
            return $v;
        }
        if ($v === null || is_scalar($v)) {
            return $v;
        }
        throw is_object($v) ? BadItem::object($v) : BadItem::resource();
    }
}
