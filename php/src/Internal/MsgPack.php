<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

// Imported so that the compiler turns them into opcodes (or direct calls): every item
// goes through the encoder.
use function array_is_list;
use function chr;
use function count;
use function is_array;
use function is_bool;
use function is_float;
use function is_int;
use function is_string;
use function pack;
use function preg_match;
use function strlen;

/**
 * MessagePack encoder and decoder for items, exactly as docs/internals.md describes:
 * shortest integer forms (unsigned ones for values >= 0), float64 for every float,
 * `str` for valid UTF-8 and `bin` for other bytes, lists as arrays and every other
 * PHP array as a map in its own key order.
 *
 * The decoder refuses ext types, map keys that are not int/str/bin, uint64 values
 * above PHP_INT_MAX, truncated input, nesting deeper than 512 and trailing bytes.
 */
final class MsgPack
{
    /** Deepest nesting of arrays and maps the decoder accepts. */
    public const MAX_DEPTH = 512;

    /** Most map keys, and most short string values, an encoder remembers the encoding of. */
    private const KEY_CACHE = 1024;

    /**
     * Encoded map keys: items of a job tend to have the same keys, and every item is
     * encoded (at submit, see Items). Read in line by Items' walk too; written by key().
     *
     * @var array<int|string, string>
     */
    public static array $keys = [];

    /**
     * Encoded string values shorter than 32 bytes (a level, a channel, a path), for
     * the same reason: their UTF-8 check is most of their cost. Read in line by
     * Items' walk too; written by string().
     *
     * @var array<int|string, string>
     */
    public static array $strings = [];

    private string $buf = '';
    private int $pos = 0;
    private int $len = 0;

    /**
     * Encodes one value. Only null, bool, int, float, string and arrays of those are
     * accepted (items are checked before they get here).
     */
    public static function encode(mixed $value): string
    {
        if (is_string($value)) {
            return self::$strings[$value] ?? self::string($value);
        }
        if (is_array($value)) {
            return self::encodeArray($value);
        }
        if (is_int($value)) {
            return $value >= 0 && $value <= 0x7f ? chr($value) : self::encodeInt($value);
        }
        if (is_float($value)) {
            return "\xcb" . pack('E', $value);
        }
        if ($value === null) {
            return "\xc0";
        }
        if (is_bool($value)) {
            return $value ? "\xc3" : "\xc2";
        }
        throw new \InvalidArgumentException('MessagePack cannot encode a value of type ' . get_debug_type($value));
    }

    /** Encodes a list header for $n elements (fixarray, array16 or array32). */
    public static function arrayHeader(int $n): string
    {
        if ($n < 16) {
            return chr(0x90 | $n);
        }
        if ($n <= 0xffff) {
            return "\xdc" . pack('n', $n);
        }
        return "\xdd" . pack('N', $n);
    }

    /** Encodes a map header for $n pairs (fixmap, map16 or map32). */
    public static function mapHeader(int $n): string
    {
        if ($n < 16) {
            return chr(0x80 | $n);
        }
        if ($n <= 0xffff) {
            return "\xde" . pack('n', $n);
        }
        return "\xdf" . pack('N', $n);
    }

    /** Encodes a string as `str` when it is valid UTF-8, as `bin` otherwise. */
    public static function encodeString(string $s): string
    {
        $n = strlen($s);
        // Without a byte >= 0x80 it is ASCII, hence UTF-8: that search is cheaper than
        // PCRE's UTF-8 check, which only the other strings get.
        if (preg_match('/[\x80-\xff]/', $s) === 0 || preg_match('//u', $s) === 1) {
            if ($n < 32) {
                return chr(0xa0 | $n) . $s;
            }
            if ($n <= 0xff) {
                return "\xd9" . chr($n) . $s;
            }
            if ($n <= 0xffff) {
                return "\xda" . pack('n', $n) . $s;
            }
            return "\xdb" . pack('N', $n) . $s;
        }
        if ($n <= 0xff) {
            return "\xc4" . chr($n) . $s;
        }
        if ($n <= 0xffff) {
            return "\xc5" . pack('n', $n) . $s;
        }
        return "\xc6" . pack('N', $n) . $s;
    }

    /** Encodes an int in its shortest form, unsigned formats for values >= 0. */
    public static function encodeInt(int $i): string
    {
        if ($i >= 0) {
            if ($i <= 0x7f) {
                return chr($i);
            }
            if ($i <= 0xff) {
                return "\xcc" . chr($i);
            }
            if ($i <= 0xffff) {
                return "\xcd" . pack('n', $i);
            }
            if ($i <= 0xffffffff) {
                return "\xce" . pack('N', $i);
            }
            return "\xcf" . pack('J', $i);
        }
        if ($i >= -32) {
            return chr($i & 0xff);
        }
        if ($i >= -128) {
            return "\xd0" . chr($i & 0xff);
        }
        if ($i >= -32768) {
            return "\xd1" . pack('n', $i & 0xffff);
        }
        if ($i >= -2147483648) {
            return "\xd2" . pack('N', $i & 0xffffffff);
        }
        return "\xd3" . pack('J', $i);
    }

    /**
     * A list as an array, any other array as a map. Submitted items are encoded by
     * Items' walk, which inlines the common element types; this is for the rest.
     */
    private static function encodeArray(array $a): string
    {
        $n = count($a);
        if (array_is_list($a)) {
            $out = self::arrayHeader($n);
            foreach ($a as $v) {
                $out .= self::encode($v);
            }
            return $out;
        }
        $out = self::mapHeader($n);
        foreach ($a as $k => $v) {
            $out .= (self::$keys[$k] ?? self::key($k)) . self::encode($v);
        }
        return $out;
    }

    /** Encodes a map key, remembering short ones while there are not too many. */
    public static function key(int|string $k): string
    {
        $e = is_int($k) ? self::encodeInt($k) : self::encodeString($k);
        if (strlen($e) <= 64 && count(self::$keys) < self::KEY_CACHE) {
            self::$keys[$k] = $e;
        }
        return $e;
    }

    /** Encodes a string value, remembering short ones while there are not too many. */
    public static function string(string $s): string
    {
        $e = self::encodeString($s);
        if (strlen($s) < 32 && count(self::$strings) < self::KEY_CACHE) {
            self::$strings[$s] = $e;
        }
        return $e;
    }

    /**
     * Decodes exactly one value that fills the whole of $bytes.
     *
     * @throws \UnexpectedValueException when the bytes are not one valid value
     */
    public static function decode(string $bytes): mixed
    {
        $d = new self();
        $d->buf = $bytes;
        $d->len = strlen($bytes);
        $value = $d->value(0);
        if ($d->pos !== $d->len) {
            throw new \UnexpectedValueException(sprintf('MessagePack: %d trailing bytes', $d->len - $d->pos));
        }
        return $value;
    }

    private function take(int $n): string
    {
        if ($this->len - $this->pos < $n) {
            throw new \UnexpectedValueException('MessagePack: truncated input');
        }
        $s = substr($this->buf, $this->pos, $n);
        $this->pos += $n;
        return $s;
    }

    private function value(int $depth): mixed
    {
        if ($this->pos >= $this->len) {
            throw new \UnexpectedValueException('MessagePack: truncated input');
        }
        $b = ord($this->buf[$this->pos++]);
        if ($b <= 0x7f) {
            return $b;
        }
        if ($b >= 0xe0) {
            return $b - 0x100;
        }
        if (($b & 0xe0) === 0xa0) {
            return $this->take($b & 0x1f);
        }
        if (($b & 0xf0) === 0x90) {
            return $this->items($b & 0x0f, $depth);
        }
        if (($b & 0xf0) === 0x80) {
            return $this->pairs($b & 0x0f, $depth);
        }
        switch ($b) {
            case 0xc0:
                return null;
            case 0xc2:
                return false;
            case 0xc3:
                return true;
            case 0xc4:
            case 0xd9:
                return $this->take(ord($this->take(1)));
            case 0xc5:
            case 0xda:
                return $this->take(unpack('n', $this->take(2))[1]);
            case 0xc6:
            case 0xdb:
                return $this->take(unpack('N', $this->take(4))[1]);
            case 0xca:
                return unpack('G', $this->take(4))[1];
            case 0xcb:
                return unpack('E', $this->take(8))[1];
            case 0xcc:
                return ord($this->take(1));
            case 0xcd:
                return unpack('n', $this->take(2))[1];
            case 0xce:
                return unpack('N', $this->take(4))[1];
            case 0xcf:
                $v = unpack('J', $this->take(8))[1];
                if ($v < 0) {
                    throw new \UnexpectedValueException('MessagePack: uint64 value above PHP_INT_MAX');
                }
                return $v;
            case 0xd0:
                $v = ord($this->take(1));
                return $v >= 0x80 ? $v - 0x100 : $v;
            case 0xd1:
                $v = unpack('n', $this->take(2))[1];
                return $v >= 0x8000 ? $v - 0x10000 : $v;
            case 0xd2:
                $v = unpack('N', $this->take(4))[1];
                return $v >= 0x80000000 ? $v - 0x100000000 : $v;
            case 0xd3:
                return unpack('J', $this->take(8))[1];
            case 0xdc:
                return $this->items(unpack('n', $this->take(2))[1], $depth);
            case 0xdd:
                return $this->items(unpack('N', $this->take(4))[1], $depth);
            case 0xde:
                return $this->pairs(unpack('n', $this->take(2))[1], $depth);
            case 0xdf:
                return $this->pairs(unpack('N', $this->take(4))[1], $depth);
        }
        if ($b === 0xc1) {
            throw new \UnexpectedValueException('MessagePack: reserved byte 0xc1');
        }
        throw new \UnexpectedValueException(sprintf('MessagePack: ext type 0x%02x is not supported', $b));
    }

    private function items(int $n, int $depth): array
    {
        if ($depth >= self::MAX_DEPTH) {
            throw new \UnexpectedValueException('MessagePack: nesting deeper than ' . self::MAX_DEPTH);
        }
        if ($n > $this->len - $this->pos) {
            throw new \UnexpectedValueException('MessagePack: truncated input');
        }
        $out = [];
        for ($i = 0; $i < $n; $i++) {
            $out[] = $this->value($depth + 1);
        }
        return $out;
    }

    private function pairs(int $n, int $depth): array
    {
        if ($depth >= self::MAX_DEPTH) {
            throw new \UnexpectedValueException('MessagePack: nesting deeper than ' . self::MAX_DEPTH);
        }
        if (2 * $n > $this->len - $this->pos) {
            throw new \UnexpectedValueException('MessagePack: truncated input');
        }
        $out = [];
        for ($i = 0; $i < $n; $i++) {
            if ($this->pos >= $this->len) {
                throw new \UnexpectedValueException('MessagePack: truncated input');
            }
            $b = ord($this->buf[$this->pos]);
            $isKey = $b <= 0x7f || $b >= 0xe0 || ($b & 0xe0) === 0xa0
                || ($b >= 0xc4 && $b <= 0xc6) || ($b >= 0xcc && $b <= 0xd3) || ($b >= 0xd9 && $b <= 0xdb);
            if (!$isKey) {
                throw new \UnexpectedValueException(
                    sprintf('MessagePack: map key of type 0x%02x is not int, str or bin', $b),
                );
            }
            $key = $this->value($depth + 1);
            $out[$key] = $this->value($depth + 1);
        }
        return $out;
    }
}
