<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The failure store: one file per failed batch (magic `ABFAIL`, u16 version 2, body
 * length, CRC-32, then a MessagePack map of the job, attempts, last error, times,
 * batch id and items), written atomically, under a size cap. Used by the runtime to
 * store, by retryFailed() to replay and by the CLI to list, show and purge. Files of
 * version 1 (no batch id) are read too.
 */
final class FailureStore
{
    public const MAGIC = 'ABFAIL';
    /** The version of the files written. */
    public const VERSION = 2;
    /** The keys of a body by format version, in the order they are written. */
    private const KEYS = [
        1 => ['v', 'job', 'attempts', 'lastError', 'firstAttemptAt', 'failedAt', 'pid', 'host', 'items'],
        2 => ['v', 'job', 'attempts', 'lastError', 'firstAttemptAt', 'failedAt', 'pid', 'host', 'batchId', 'items'],
    ];

    public function __construct(public readonly string $dir, public readonly int $capBytes)
    {
    }

    /**
     * Stores one failed batch.
     *
     * @param list<mixed> $items
     * @return array{0: ?string, 1: ?string} the file written, or why nothing was (the
     *         message for lastError and the log, `asyncbatch: ` in front)
     */
    public function store(
        string $identifier,
        array $items,
        int $attempts,
        string $lastError,
        float $firstAttemptAt,
        float $failedAt,
        string $batchId,
    ): array {
        $n = count($items);
        $refused = "asyncbatch: cannot store a failed batch: %s; dropped %d items for job '%s'";
        $why = Fs::ensureDir($this->dir, 'failure');
        if ($why !== null) {
            return [null, sprintf($refused, $why, $n, $identifier)];
        }
        $bytes = self::encode([
            'v' => self::VERSION,
            'job' => $identifier,
            'attempts' => $attempts,
            'lastError' => $lastError,
            'firstAttemptAt' => $firstAttemptAt,
            'failedAt' => $failedAt,
            'pid' => getmypid(),
            'host' => (string) gethostname(),
            'batchId' => $batchId,
            'items' => array_values($items),
        ]);
        $used = $this->used();
        if ($used + strlen($bytes) > $this->capBytes) {
            return [null, sprintf(
                'asyncbatch: failure store %s is full (%d of %d bytes used); '
                    . "dropped a failed batch of %d items for job '%s'",
                $this->dir,
                $used,
                $this->capBytes,
                $n,
                $identifier,
            )];
        }
        $rand = bin2hex(random_bytes(4));
        $name = sprintf('%s.%s.%d.%s.fail', Fs::jobKey($identifier), Fs::micros(), getmypid(), $rand);
        $why = $this->writeAtomic($name, $bytes);
        if ($why !== null) {
            return [null, sprintf($refused, $why, $n, $identifier)];
        }
        return [$this->dir . '/' . $name, null];
    }

    /** Replaces a stored file (same name) with a new body (of version 2: with its batchId), atomically. */
    public function rewrite(string $name, array $body): ?string
    {
        return $this->writeAtomic($name, self::encode($body));
    }

    /** Total size of the `.fail` files, in bytes. */
    public function used(): int
    {
        $used = 0;
        foreach ($this->names() as $name) {
            $size = @filesize($this->dir . '/' . $name);
            $used += $size === false ? 0 : $size;
        }
        return $used;
    }

    /**
     * Names of the `.fail` files, oldest first (by the time in the name).
     *
     * @return list<string>
     */
    public function names(): array
    {
        $all = is_dir($this->dir) ? @scandir($this->dir, SCANDIR_SORT_NONE) : false;
        if ($all === false) {
            return [];
        }
        $names = [];
        foreach ($all as $name) {
            if (str_ends_with($name, '.fail') && $name[0] !== '.') {
                $names[] = $name;
            }
        }
        usort($names, static function (string $a, string $b): int {
            $ka = (string) substr($a, (int) strpos($a, '.'));
            $kb = (string) substr($b, (int) strpos($b, '.'));
            return strnatcmp($ka, $kb) ?: strcmp($a, $b);
        });
        return $names;
    }

    /**
     * The bytes of a version 2 file for this body: its keys in the documented order
     * (`v` set to 2), then any others it has (a reader ignores them).
     */
    public static function encode(array $body): string
    {
        $ordered = [];
        foreach (self::KEYS[self::VERSION] as $key) {
            $ordered[$key] = $key === 'v' ? self::VERSION : $body[$key];
        }
        $b = MsgPack::encode($ordered + $body);
        return self::MAGIC . pack('vVV', self::VERSION, strlen($b), crc32($b)) . $b;
    }

    /**
     * Reads a file's bytes into its body (a map with at least the documented keys;
     * `batchId` null for a version 1 file, which has none).
     *
     * @param int|null $version set to the file's format version
     * @throws \UnexpectedValueException naming what is wrong: magic, version, CRC or body
     */
    public static function decode(string $bytes, ?int &$version = null): array
    {
        if (strlen($bytes) < 16 || substr($bytes, 0, 6) !== self::MAGIC) {
            throw new \UnexpectedValueException('bad magic');
        }
        ['v' => $version, 'n' => $n, 'c' => $crc] = unpack('vv/Vn/Vc', $bytes, 6);
        if (!isset(self::KEYS[$version])) {
            throw new \UnexpectedValueException(sprintf('unsupported format version %d', $version));
        }
        if (strlen($bytes) !== 16 + $n) {
            throw new \UnexpectedValueException(sprintf('body is %d bytes, header says %d', strlen($bytes) - 16, $n));
        }
        $body = substr($bytes, 16);
        if (crc32($body) !== $crc) {
            throw new \UnexpectedValueException('bad CRC');
        }
        try {
            $map = MsgPack::decode($body);
        } catch (\UnexpectedValueException $e) {
            throw new \UnexpectedValueException('bad body: ' . $e->getMessage());
        }
        if (!is_array($map)) {
            throw new \UnexpectedValueException('bad body: not a map');
        }
        foreach (self::KEYS[$version] as $key) {
            if (!array_key_exists($key, $map)) {
                throw new \UnexpectedValueException("bad body: no '$key'");
            }
        }
        if ($version === 1) {
            $map['batchId'] = null;
        }
        $ok = is_string($map['job']) && is_int($map['attempts']) && is_string($map['lastError'])
            && (is_float($map['firstAttemptAt']) || is_int($map['firstAttemptAt']))
            && (is_float($map['failedAt']) || is_int($map['failedAt']))
            && is_int($map['pid']) && is_string($map['host'])
            && ($version === 1 || BatchId::isValid($map['batchId']))
            && is_array($map['items']) && array_is_list($map['items']);
        if (!$ok) {
            throw new \UnexpectedValueException('bad body: a field has the wrong type');
        }
        return $map;
    }

    private function writeAtomic(string $name, string $bytes): ?string
    {
        $tmp = $this->dir . '/.' . $name . '.tmp';
        $fh = Fs::createExclusive($tmp);
        if (is_string($fh)) {
            return sprintf('cannot create %s: %s', $tmp, $fh);
        }
        $why = Fs::writeAll($fh, $bytes);
        if ($why === null && !@fsync($fh)) {
            $why = 'fsync failed';
        }
        fclose($fh);
        if ($why === null && !@rename($tmp, $this->dir . '/' . $name)) {
            $e = error_get_last();
            $why = Fs::why($e['message'] ?? 'rename failed');
        }
        if ($why !== null) {
            @unlink($tmp);
        }
        return $why;
    }
}
