<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\InvalidItemException;

// Imported so that the compiler turns them into opcodes (or direct calls): this is the
// hot path of submitItem().
use function array_is_list;
use function chr;
use function count;
use function is_array;
use function is_bool;
use function is_float;
use function is_int;
use function is_object;
use function is_scalar;
use function is_string;
use function pack;
use function strlen;

/**
 * Checks an item at submit and makes the copy that is queued: arrays are rebuilt
 * (so references and later changes by the caller do not reach the queue),
 * JsonSerializable objects are replaced by their data, and anything else that is
 * not data is refused with the message of docs/internals.md.
 *
 * The same walk encodes the copy in MessagePack, exactly as MsgPack::encode() does:
 * that encoding is checked against asyncbatch.max_item_size and queued with the
 * item, for the journal (every item is written to one before its callable runs).
 */
final class Items
{
    /** Deepest nesting of arrays an item may have (the item itself is level 1). */
    public const MAX_DEPTH = 512;

    /**
     * Returns the copy of $item to queue.
     *
     * @param-out string $encoded the MessagePack encoding of the copy
     * @throws InvalidItemException
     */
    public static function accept(string $identifier, mixed $item, int $maxSize, ?string &$encoded = null): mixed
    {
        $encoded = '';
        try {
            if (is_array($item)) {
                $item = self::copy($item, 1, $encoded);
            } elseif ($item === null || is_scalar($item)) {
                $encoded = MsgPack::encode($item);
            } else {
                $item = self::other($item, 1, $encoded);
            }
        } catch (BadItem $e) {
            throw new InvalidItemException(sprintf("Cannot queue item for job '%s': %s", $identifier, $e->describe()));
        }
        $n = strlen($encoded);
        if ($n > $maxSize) {
            throw new InvalidItemException(sprintf(
                "Cannot queue item for job '%s': it is %d bytes encoded, over asyncbatch.max_item_size (%d)",
                $identifier,
                $n,
                $maxSize,
            ));
        }
        return $item;
    }

    /**
     * Copies one array at nesting level $depth, appending its encoding to $encoded.
     * The common element types are encoded in line, with MsgPack's caches: a call
     * per element would cost more than most encodings.
     */
    private static function copy(array $a, int $depth, string &$encoded): array
    {
        if ($depth > self::MAX_DEPTH) {
            throw BadItem::tooDeep();
        }
        $n = count($a);
        // The copy has the same keys in the same order: a list exactly when $a is.
        $list = array_is_list($a);
        if ($list) {
            $encoded .= $n < 16 ? chr(0x90 | $n) : MsgPack::arrayHeader($n);
        } else {
            $encoded .= $n < 16 ? chr(0x80 | $n) : MsgPack::mapHeader($n);
        }
        $out = [];
        foreach ($a as $k => $v) {
            if (!$list) {
                $encoded .= MsgPack::$keys[$k] ?? MsgPack::key($k);
            }
            if (is_string($v)) {
                $encoded .= MsgPack::$strings[$v] ?? MsgPack::string($v);
            } elseif (is_int($v)) {
                if ($v >= 0 && $v <= 0xffff) {
                    $encoded .= $v <= 0x7f ? chr($v) : ($v <= 0xff ? "\xcc" . chr($v) : "\xcd" . pack('n', $v));
                } else {
                    $encoded .= MsgPack::encodeInt($v);
                }
            } elseif (is_float($v)) {
                $encoded .= "\xcb" . pack('E', $v);
            } elseif (is_array($v)) {
                try {
                    $v = self::copy($v, $depth + 1, $encoded);
                } catch (BadItem $e) {
                    throw $e->in($k);
                }
            } elseif ($v === null) {
                $encoded .= "\xc0";
            } elseif (is_bool($v)) {
                $encoded .= $v ? "\xc3" : "\xc2";
            } else {
                try {
                    $v = self::other($v, $depth + 1, $encoded);
                } catch (BadItem $e) {
                    throw $e->in($k);
                }
            }
            $out[$k] = $v;
        }
        return $out;
    }

    /** An object or a resource found at nesting level $depth; its data's encoding is appended to $encoded. */
    private static function other(mixed $v, int $depth, string &$encoded): mixed
    {
        for ($unwrapped = 0; $v instanceof \JsonSerializable; $unwrapped++) {
            if ($unwrapped === self::MAX_DEPTH) {
                throw BadItem::tooDeep();
            }
            $v = $v->jsonSerialize();
        }
        if (is_array($v)) {
            return self::copy($v, $depth, $encoded);
        }
        if ($v === null || is_scalar($v)) {
            $encoded .= MsgPack::encode($v);
            return $v;
        }
        throw is_object($v) ? BadItem::object($v) : BadItem::resource();
    }
}
