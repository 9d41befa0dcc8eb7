<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The spool: append-only segment files of length-prefixed, CRC-checked MessagePack
 * frames `[identifier, items]`, claimed by readers with flock and removed only once
 * every item in them is delivered, stored as failed or written again.
 *
 * A reader skips what it cannot read (scanning byte by byte for the next valid
 * frame), delivers the valid frames and keeps such a file as `.corrupt`.
 */
final class Spool
{
    /** The first 8 bytes of every segment: magic and format version 1. */
    public const MAGIC = "ABSPOOL\x01";
    /** Largest frame payload a reader accepts. */
    public const MAX_FRAME = 64 * 1048576;
    /** A writer starts a new frame once a payload reaches this size. */
    private const FRAME_TARGET = 4 * 1048576;
    /** A `.part` older than this (seconds) whose lock is free belongs to a writer that died. */
    public const STALE_PART = 60;

    private static int $seq = 0;

    public function __construct(public readonly string $dir)
    {
    }

    /**
     * Writes the items of one job as a new segment.
     *
     * @param list<mixed> $items
     * @return string|null why the segment could not be written, or null
     */
    public function write(string $identifier, array $items): ?string
    {
        $why = Fs::ensureDir($this->dir, 'spool');
        if ($why !== null) {
            return $why;
        }
        $bytes = self::MAGIC;
        $chunk = [];
        $size = 0;
        foreach ($items as $item) {
            $e = MsgPack::encode($item);
            if (strlen($e) + 150 > self::MAX_FRAME) {
                return sprintf('an item of %d bytes is too large for a spool frame', strlen($e));
            }
            if ($chunk !== [] && $size + strlen($e) > self::FRAME_TARGET) {
                $bytes .= self::frame($identifier, $chunk);
                $chunk = [];
                $size = 0;
            }
            $chunk[] = $e;
            $size += strlen($e);
        }
        if ($chunk !== []) {
            $bytes .= self::frame($identifier, $chunk);
        }

        $base = sprintf('%s/%s.%s.%d.%d', $this->dir, Fs::jobKey($identifier), Fs::micros(), getmypid(), ++self::$seq);
        $fh = Fs::createExclusive($base . '.part');
        if (is_string($fh)) {
            return sprintf('cannot create a segment in %s: %s', $this->dir, $fh);
        }
        flock($fh, LOCK_EX);
        $why = Fs::writeAll($fh, $bytes);
        if ($why === null && !@rename($base . '.part', $base . '.seg')) {
            $e = error_get_last();
            $why = Fs::why($e['message'] ?? 'rename failed');
        }
        if ($why !== null) {
            @unlink($base . '.part');
            fclose($fh);
            return sprintf('cannot write a segment in %s: %s', $this->dir, $why);
        }
        fclose($fh);
        return null;
    }

    /**
     * One frame: length, CRC-32 and the payload `[identifier, items]` built from
     * items already encoded.
     *
     * @param list<string> $encodedItems
     */
    public static function frame(string $identifier, array $encodedItems): string
    {
        $payload = "\x92" . MsgPack::encodeString($identifier)
            . MsgPack::arrayHeader(count($encodedItems)) . implode('', $encodedItems);
        return pack('VV', strlen($payload), crc32($payload)) . $payload;
    }

    /**
     * Names of the segments ready to read (`.seg`, and `.part` files left by a writer
     * that died), oldest first. A missing directory has none; a refused one is
     * logged (once) and not read.
     *
     * @return list<string>
     */
    public function ready(): array
    {
        if (!file_exists($this->dir) && !is_link($this->dir)) {
            return [];
        }
        $why = Fs::checkDir($this->dir, 'spool');
        if ($why !== null) {
            Log::lineOnce('read:' . $why, 'cannot read the spool: ' . $why);
            return [];
        }
        $names = @scandir($this->dir, SCANDIR_SORT_NONE);
        if ($names === false) {
            return [];
        }
        $ready = [];
        $staleBefore = time() - self::STALE_PART;
        foreach ($names as $name) {
            if (str_ends_with($name, '.seg')) {
                $ready[] = $name;
            } elseif (str_ends_with($name, '.part') && $name[0] !== '.') {
                $m = @filemtime($this->dir . '/' . $name);
                if ($m !== false && $m < $staleBefore) {
                    $ready[] = $name;
                }
            }
        }
        // By time, then pid and sequence number as numbers.
        usort($ready, static fn (string $a, string $b): int
            => strnatcmp(self::age($a), self::age($b)) ?: strcmp($a, $b));
        return $ready;
    }

    /** The part of a name after the job key, which sorts by creation time. */
    private static function age(string $name): string
    {
        $dot = strpos($name, '.');
        return $dot === false ? '' : substr($name, $dot + 1);
    }

    /**
     * Claims a segment: opened without following a link, locked, same inode.
     *
     * @return resource|null the locked handle, or null when it is not ours to read
     */
    public function claim(string $name)
    {
        $path = $this->dir . '/' . $name;
        $fh = Fs::claim($path);
        if ($fh !== null && str_ends_with($name, '.part')) {
            $st = fstat($fh);
            if ($st === false || $st['mtime'] >= time() - self::STALE_PART) {
                fclose($fh);
                return null;
            }
        }
        return $fh;
    }

    /**
     * Reads a whole segment.
     *
     * @return array{0: list<array{0: string, 1: list<mixed>}>, 1: int, 2: bool}
     *         the valid frames, the number of bytes skipped, and whether the header was bad
     */
    public static function parse(string $bytes): array
    {
        $len = strlen($bytes);
        if ($len < 8 || substr($bytes, 0, 8) !== self::MAGIC) {
            return [[], $len, true];
        }
        $frames = [];
        $skipped = 0;
        $pos = 8;
        while ($pos < $len) {
            $frame = self::frameAt($bytes, $pos, $len);
            if ($frame !== null) {
                $frames[] = [$frame[0], $frame[1]];
                $pos = $frame[2];
                continue;
            }
            $start = $pos;
            for ($pos++; $pos < $len && self::frameAt($bytes, $pos, $len) === null; $pos++) {
            }
            $skipped += $pos - $start;
        }
        return [$frames, $skipped, false];
    }

    /** @return array{0: string, 1: list<mixed>, 2: int}|null a valid whole frame at $pos, and where the next starts */
    private static function frameAt(string $bytes, int $pos, int $len): ?array
    {
        if ($len - $pos < 9) {
            return null;
        }
        ['n' => $n, 'c' => $crc] = unpack('Vn/Vc', $bytes, $pos);
        if ($n < 1 || $n > self::MAX_FRAME || $n > $len - $pos - 8) {
            return null;
        }
        $payload = substr($bytes, $pos + 8, $n);
        if (crc32($payload) !== $crc) {
            return null;
        }
        try {
            $v = MsgPack::decode($payload);
        } catch (\UnexpectedValueException) {
            return null;
        }
        if (!is_array($v) || count($v) !== 2 || !isset($v[0], $v[1]) || !is_string($v[0])
            || !is_array($v[1]) || !array_is_list($v[1]) || !JobConfig::isIdentifier($v[0])) {
            return null;
        }
        return [$v[0], $v[1], $pos + 8 + $n];
    }

    /**
     * Ends a claim once everything in the segment is taken care of: removes it, or
     * keeps it as `.corrupt` (with one log line) when bytes had to be skipped.
     *
     * @param resource $fh
     */
    public function finish($fh, string $name, int $skipped, bool $badHeader): void
    {
        $path = $this->dir . '/' . $name;
        if ($skipped > 0 || $badHeader) {
            $corrupt = $this->dir . '/' . substr($name, 0, (int) strrpos($name, '.')) . '.corrupt';
            @rename($path, $corrupt);
            Log::line($badHeader
                ? sprintf('corrupt spool segment %s: bad header; kept as %s', $path, $corrupt)
                : sprintf('corrupt spool segment %s: skipped %d bytes; kept as %s', $path, $skipped, $corrupt));
        } else {
            @unlink($path);
        }
        fclose($fh);
    }

    /**
     * Ends a claim leaving the segment in place, for the next reader.
     *
     * @param resource $fh
     */
    public function release($fh): void
    {
        fclose($fh);
    }
}
