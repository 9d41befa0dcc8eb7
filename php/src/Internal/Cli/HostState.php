<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Spool;

/**
 * What `status` measures on this host rather than takes from the daemon's status
 * file: whether a process runs (/proc), the depth of the SysV queue
 * (/proc/sysvipc/msg), what waits in the spool directory, and per job what waits
 * in the spool and the failure store.
 */
final class HostState
{
    /** Whether process $pid exists (a zombie counts as gone). */
    public static function alive(int $pid): bool
    {
        if ($pid <= 0) {
            return false;
        }
        $stat = @file_get_contents("/proc/$pid/stat");
        if (is_string($stat)) {
            $close = strrpos($stat, ')');
            return $close === false || ($stat[$close + 2] ?? '') !== 'Z';
        }
        if (function_exists('posix_kill')) {
            return posix_kill($pid, 0) || posix_get_last_error() === 1; // EPERM: it exists
        }
        return false;
    }

    /**
     * The SysV queue of this configuration as /proc/sysvipc/msg shows it: key in hex,
     * messages and bytes on it (0 when it does not exist).
     *
     * @return array{key: string, messages: int, bytes: int}
     */
    public static function queue(string $spoolDir): array
    {
        $key = self::queueKey($spoolDir);
        $out = ['key' => sprintf('0x%08x', $key), 'messages' => 0, 'bytes' => 0];
        $lines = @file('/proc/sysvipc/msg', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        if (!is_array($lines) || $lines === []) {
            return $out;
        }
        $head = preg_split('/\s+/', trim((string) array_shift($lines)));
        $col = array_flip($head);
        if (!isset($col['key'], $col['qnum'], $col['cbytes'])) {
            return $out;
        }
        foreach ($lines as $line) {
            $f = preg_split('/\s+/', trim($line));
            // The kernel prints the key as a signed int.
            if (((int) ($f[$col['key']] ?? 0) & 0xffffffff) === $key) {
                $out['messages'] = (int) $f[$col['qnum']];
                $out['bytes'] = (int) $f[$col['cbytes']];
                break;
            }
        }
        return $out;
    }

    /**
     * `asyncbatch.queue_key` (decimal or `0x` hex), or the key derived from the spool
     * directory: `crc32(spool_dir) & 0x7fffffff`, 1 when that is 0.
     */
    public static function queueKey(string $spoolDir): int
    {
        $v = get_cfg_var('asyncbatch.queue_key');
        $v = is_string($v) ? trim($v) : '';
        if (preg_match('/^0x[0-9a-f]{1,8}$/Di', $v) === 1) {
            return (int) hexdec(substr($v, 2));
        }
        if (preg_match('/^[0-9]{1,10}$/D', $v) === 1 && (int) $v <= 0xffffffff) {
            return (int) $v;
        }
        $key = crc32($spoolDir) & 0x7fffffff;
        return $key === 0 ? 1 : $key;
    }

    /**
     * Segments waiting in the spool directory (`.seg` and `.part`) and their bytes.
     *
     * @return array{segments: int, bytes: int}
     */
    public static function spool(string $dir): array
    {
        $segments = 0;
        $bytes = 0;
        foreach ((is_dir($dir) ? (@scandir($dir) ?: []) : []) as $name) {
            if (str_ends_with($name, '.seg') || str_ends_with($name, '.part')) {
                $size = @filesize($dir . '/' . $name);
                if ($size !== false) {
                    $segments++;
                    $bytes += $size;
                }
            }
        }
        return ['segments' => $segments, 'bytes' => $bytes];
    }

    /**
     * Per job label (jobLabel()), in byte order, what waits on disk, measured as the
     * daemon measures it for its metrics (core/src/daemon/metrics.rs,
     * HostGauges::measure): in the spool the `.seg` files and the `.part` files that
     * hold more than a segment header (not the journals PHP processes keep between
     * deliveries), with the creation time of the oldest `.seg` from its name; in the
     * failure store the `.fail` files. A missing or unreadable directory has none.
     *
     * @return array{spool: array<string, array{files: int, bytes: int, oldest: ?float}>,
     *               failed: array<string, array{files: int, bytes: int, oldest: ?float}>}
     */
    public static function jobs(string $spoolDir, string $failureDir): array
    {
        $spool = [];
        foreach (self::files($spoolDir) as [$name, $size]) {
            $seg = str_ends_with($name, '.seg');
            if (!$seg && !(str_ends_with($name, '.part') && $size > strlen(Spool::MAGIC))) {
                continue;
            }
            $f = &$spool[self::jobLabel($name)];
            $f ??= ['files' => 0, 'bytes' => 0, 'oldest' => null];
            $f['files']++;
            $f['bytes'] += $size;
            $created = $seg ? self::createdAt($name) : null;
            if ($created !== null) {
                $f['oldest'] = $f['oldest'] === null ? $created : min($f['oldest'], $created);
            }
            unset($f);
        }
        $failed = [];
        foreach (self::files($failureDir) as [$name, $size]) {
            if (str_ends_with($name, '.fail')) {
                $f = &$failed[self::jobLabel($name)];
                $f ??= ['files' => 0, 'bytes' => 0, 'oldest' => null];
                $f['files']++;
                $f['bytes'] += $size;
                unset($f);
            }
        }
        ksort($spool, SORT_STRING);
        ksort($failed, SORT_STRING);
        return ['spool' => $spool, 'failed' => $failed];
    }

    /**
     * The `job` label of a spool or failure file: its name's job key with `%XX`
     * decoded, printed as the extension prints identifiers. A key cut short (with `~`
     * and a checksum) cannot be decoded and stays as it is; so does `~`, the key of
     * segments that hold items of several jobs.
     */
    public static function jobLabel(string $name): string
    {
        $dot = strpos($name, '.');
        $key = $dot === false ? $name : substr($name, 0, $dot);
        if (str_contains($key, '~')) {
            return $key;
        }
        // Two hex digits, or `+` and one: what Rust's u8::from_str_radix(_, 16) takes.
        $id = (string) preg_replace_callback(
            '/%([0-9A-Fa-f]{2}|\+[0-9A-Fa-f])/',
            static fn (array $m): string => chr((int) hexdec(ltrim($m[1], '+'))),
            $key,
        );
        return Format::printableId($id);
    }

    /**
     * The regular files of a directory (not through a link) with UTF-8 names, and
     * their sizes.
     *
     * @return list<array{0: string, 1: int}>
     */
    private static function files(string $dir): array
    {
        $out = [];
        foreach (@scandir($dir, SCANDIR_SORT_NONE) ?: [] as $name) {
            $st = preg_match('//u', $name) === 1 ? @lstat($dir . '/' . $name) : false;
            if ($st !== false && ($st['mode'] & 0170000) === 0100000) {
                $out[] = [$name, $st['size']];
            }
        }
        return $out;
    }

    /** The creation time (Unix seconds) in a segment's name: `{jobkey}.{micros}.…`. */
    private static function createdAt(string $name): ?float
    {
        $micros = explode('.', $name)[1] ?? '';
        // As Rust's u128 parse: digits, an optional `+`.
        if (preg_match('/^\+?([0-9]{1,39})$/D', $micros, $m) !== 1) {
            return null;
        }
        return (float) $m[1] / 1e6;
    }
}
