<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

// Imported so that the compiler turns them into opcodes: they run for every item.
use function count;
use function is_array;
use function is_string;
use function strlen;

/**
 * The spool: append-only segment files of length-prefixed, CRC-checked MessagePack
 * frames `[identifier, items]`, or `[identifier, items, batchId]` for a batch that was
 * called and not finished (a reader delivers it as that one batch, with that id),
 * claimed by readers with flock and removed only once every item in them is
 * delivered, stored as failed or written again.
 *
 * A reader skips what it cannot read (scanning byte by byte for the next valid
 * frame), delivers the valid frames and keeps such a file as `.corrupt`. It also
 * skips the items a `{segment}.done` file records as done by an earlier reader, and
 * records its own progress there (Progress), so that a reader killed mid-segment
 * leaves only its batch in flight to be delivered again.
 */
final class Spool
{
    /** The first 8 bytes of every segment: magic and format version 1. */
    public const MAGIC = "ABSPOOL\x01";
    /** Largest frame payload a reader accepts. */
    public const MAX_FRAME = 64 * 1048576;
    /** A writer starts a new frame once a payload reaches this size. */
    private const FRAME_TARGET = 4 * 1048576;
    /**
     * A `.part` whose lock is free and whose mtime is more than this many seconds
     * old belongs to a writer that died (its pid was reused); this covers the instant
     * between a live writer's create and its lock.
     */
    public const STALE_PART = 5;

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
        return $this->writeRuns($identifier, [[$items, null]]);
    }

    /**
     * Writes runs of items of one job as a new segment, in order: a run with a batch
     * id (a batch already called) as one frame carrying it, the others as frames of
     * items. A run may carry its items' encodings (made at submit).
     *
     * @param list<array{0: list<mixed>, 1: ?string, 2?: ?list<string>}> $runs
     * @return string|null why the segment could not be written, or null
     */
    public function writeRuns(string $identifier, array $runs): ?string
    {
        $part = $this->writePart($identifier, $runs);
        if (is_string($part)) {
            return $part;
        }
        [$fh, $path] = $part;
        $seg = substr($path, 0, -5) . '.seg';
        if (!@rename($path, $seg)) {
            $e = error_get_last();
            $why = Fs::why($e['message'] ?? 'rename failed');
            @unlink($path);
            fclose($fh);
            return sprintf('cannot write a segment in %s: %s', $this->dir, $why);
        }
        fclose($fh);
        return null;
    }

    /**
     * Writes the items of one job, taken from memory, to a journal before their
     * callable runs: a `.part` segment that stays locked while this process delivers
     * them (see Journal).
     *
     * @param list<mixed> $items
     * @param list<string>|null $encoded their encodings, when made already
     * @return Journal|string the journal, or why it could not be written
     */
    public function journal(string $identifier, array $items, ?array $encoded = null): Journal|string
    {
        $part = $this->writePart($identifier, [[$items, null, $encoded]]);
        return is_string($part) ? $part : new Journal($part[1], $part[0], count($items));
    }

    /**
     * Creates a new `.part` segment (0600, exclusive), locks it and writes runs of
     * items of one job into it.
     *
     * @param list<array{0: list<mixed>, 1: ?string, 2?: ?list<string>}> $runs
     * @return array{0: resource, 1: string}|string the locked handle and the path, or
     *                                              why the segment could not be written
     */
    private function writePart(string $identifier, array $runs): array|string
    {
        $why = Fs::ensureDir($this->dir, 'spool');
        if ($why !== null) {
            return $why;
        }
        $bytes = self::MAGIC;
        foreach ($runs as $run) {
            [$items, $batchId] = $run;
            $encoded = $run[2] ?? null;
            if ($encoded !== null && $batchId === null && strlen(implode('', $encoded)) <= self::FRAME_TARGET) {
                // The common run: encoded already and small enough for one frame, as
                // the loop below would make it.
                if ($encoded !== []) {
                    $bytes .= self::frame($identifier, $encoded);
                }
                continue;
            }
            $chunk = [];
            $size = 0;
            foreach ($items as $i => $item) {
                $e = $encoded === null ? MsgPack::encode($item) : $encoded[$i];
                if (strlen($e) + 150 > self::MAX_FRAME) {
                    return sprintf('an item of %d bytes is too large for a spool frame', strlen($e));
                }
                // A new frame once a payload reaches FRAME_TARGET, unless the run is
                // a batch with an id, which is one frame.
                if ($batchId === null && $chunk !== [] && $size + strlen($e) > self::FRAME_TARGET) {
                    $bytes .= self::frame($identifier, $chunk);
                    $chunk = [];
                    $size = 0;
                }
                $chunk[] = $e;
                $size += strlen($e);
            }
            if ($batchId !== null && $size + 200 > self::MAX_FRAME) {
                // Too large for one frame: written as items, without the id (they are
                // delivered all the same, as a new batch).
                $part = [];
                $size = 0;
                foreach ($chunk as $e) {
                    if ($part !== [] && $size + strlen($e) > self::FRAME_TARGET) {
                        $bytes .= self::frame($identifier, $part);
                        $part = [];
                        $size = 0;
                    }
                    $part[] = $e;
                    $size += strlen($e);
                }
                $bytes .= self::frame($identifier, $part);
            } elseif ($chunk !== []) {
                $bytes .= self::frame($identifier, $chunk, $batchId);
            }
        }

        $base = sprintf('%s/%s.%s.%d.%d', $this->dir, Fs::jobKey($identifier), Fs::micros(), getmypid(), ++self::$seq);
        $fh = Fs::createExclusive($base . '.part');
        if (is_string($fh)) {
            return sprintf('cannot create a segment in %s: %s', $this->dir, $fh);
        }
        flock($fh, LOCK_EX);
        $why = Fs::writeAll($fh, $bytes);
        if ($why !== null) {
            @unlink($base . '.part');
            fclose($fh);
            return sprintf('cannot write a segment in %s: %s', $this->dir, $why);
        }
        return [$fh, $base . '.part'];
    }

    /**
     * One frame: length, CRC-32 and the payload `[identifier, items]`, or
     * `[identifier, items, batchId]`, built from items already encoded.
     *
     * @param list<string> $encodedItems
     */
    public static function frame(string $identifier, array $encodedItems, ?string $batchId = null): string
    {
        $payload = ($batchId === null ? "\x92" : "\x93") . MsgPack::encode($identifier)
            . MsgPack::arrayHeader(count($encodedItems)) . implode('', $encodedItems)
            . ($batchId === null ? '' : MsgPack::encodeString($batchId));
        return pack('VV', strlen($payload), crc32($payload)) . $payload;
    }

    /**
     * Names of the segments ready to read (`.seg`, and `.part` files left by a writer
     * that died: its pid is not alive, or the file is more than STALE_PART seconds
     * old), oldest first. A missing directory has none; a refused one is
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
        foreach ($names as $name) {
            if (str_ends_with($name, '.seg')) {
                $ready[] = $name;
            } elseif (str_ends_with($name, '.part') && $name[0] !== '.') {
                if (self::writerIsDead($name)) {
                    $ready[] = $name;
                    continue;
                }
                // A live writer's journal file between runs (the extension keeps one
                // per job, emptied to the header) holds nothing: passed over.
                $st = @stat($this->dir . '/' . $name);
                if ($st !== false && $st['size'] > strlen(self::MAGIC) && self::isStale($st['mtime'])) {
                    $ready[] = $name;
                }
            }
        }
        if (count($ready) > 1) {
            // By time, then pid and sequence number as numbers.
            usort($ready, static fn (string $a, string $b): int
                => strnatcmp(self::age($a), self::age($b)) ?: strcmp($a, $b));
        }
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
        if ($fh !== null && str_ends_with($name, '.part') && !self::writerIsDead($name)) {
            $st = fstat($fh);
            if ($st === false || !self::isStale($st['mtime'])) {
                fclose($fh);
                return null;
            }
        }
        return $fh;
    }

    /** Whether an mtime is more than STALE_PART seconds ago. */
    private static function isStale(int|false $mtime): bool
    {
        return $mtime !== false && $mtime < time() - self::STALE_PART;
    }

    /**
     * Whether the writer of a `.part` is gone: the pid in its name (`{jobkey}.{micros}.
     * {pid}.{seq}.part`) is not alive and is not this process.
     */
    public static function writerIsDead(string $name): bool
    {
        $parts = explode('.', $name);
        if (count($parts) !== 5 || preg_match('/^[0-9]{1,10}$/D', $parts[2]) !== 1) {
            return false;
        }
        $pid = (int) $parts[2];
        return $pid !== getmypid() && !self::pidAlive($pid);
    }

    /** Whether a process exists (EPERM from kill(pid, 0) means it does). */
    public static function pidAlive(int $pid): bool
    {
        if ($pid < 1 || $pid > 0x7fffffff) {
            return false;
        }
        if (function_exists('posix_kill')) {
            return posix_kill($pid, 0) || posix_get_last_error() === 1;
        }
        return file_exists('/proc/' . $pid);
    }

    /**
     * Items of a segment done by an earlier reader, as its `{segment}.done` records
     * (u64 LE); 0 when there is none or it cannot be read.
     */
    public function doneOf(string $name): int
    {
        $path = $this->dir . '/' . $name . '.done';
        if (is_link($path)) {
            return 0;
        }
        $bytes = @file_get_contents($path, false, null, 0, 8);
        if (!is_string($bytes) || strlen($bytes) !== 8) {
            return 0;
        }
        $n = unpack('P', $bytes)[1];
        return $n > 0 ? $n : 0;
    }

    /**
     * Drops the first $n items of the frames, in order. What is left of a batch with
     * an id, partly done, is no longer that batch: it loses the id.
     *
     * @param list<array{0: string, 1: list<mixed>, 2: ?string}> $frames
     * @return list<array{0: string, 1: list<mixed>, 2: ?string}>
     */
    public static function skipItems(array $frames, int $n): array
    {
        if ($n <= 0) {
            return $frames;
        }
        $out = [];
        foreach ($frames as [$id, $items, $batchId]) {
            $count = count($items);
            if ($n >= $count && $n > 0) {
                $n -= $count;
                continue;
            }
            $out[] = $n > 0 ? [$id, array_slice($items, $n), null] : [$id, $items, $batchId];
            $n = 0;
        }
        return $out;
    }

    /**
     * Reads a whole segment.
     *
     * @return array{0: list<array{0: string, 1: list<mixed>, 2: ?string}>, 1: int, 2: bool}
     *         the valid frames (identifier, items, batch id or null), the number of
     *         bytes skipped, and whether the header was bad
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
                $frames[] = [$frame[0], $frame[1], $frame[2]];
                $pos = $frame[3];
                continue;
            }
            $start = $pos;
            for ($pos++; $pos < $len && self::frameAt($bytes, $pos, $len) === null; $pos++) {
            }
            $skipped += $pos - $start;
        }
        return [$frames, $skipped, false];
    }

    /**
     * @return array{0: string, 1: list<mixed>, 2: ?string, 3: int}|null a valid whole
     *         frame at $pos, and where the next starts
     */
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
        if (!is_array($v) || !array_is_list($v) || (count($v) !== 2 && count($v) !== 3) || !is_string($v[0])
            || !is_array($v[1]) || !array_is_list($v[1]) || !JobConfig::isIdentifier($v[0])
            || (count($v) === 3 && !BatchId::isValid($v[2]))) {
            return null;
        }
        return [$v[0], $v[1], $v[2] ?? null, $pos + 8 + $n];
    }

    /**
     * Ends a claim once everything in the segment is taken care of: removes it, or
     * keeps it as `.corrupt` (with one log line) when bytes had to be skipped; then
     * removes its `.done` progress file, if any.
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
        // Progress recorded by an earlier reader (or by this one) applies to nothing now.
        @unlink($path . '.done');
        fclose($fh);
    }

    /**
     * Ends a claim leaving the segment (and its `.done`, if any) in place, for the
     * next reader.
     *
     * @param resource $fh
     */
    public function release($fh): void
    {
        fclose($fh);
    }
}
