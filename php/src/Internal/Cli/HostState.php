<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

/**
 * What `status` measures on this host rather than takes from the daemon's status
 * file: whether a process runs (/proc), the depth of the SysV queue
 * (/proc/sysvipc/msg) and what waits in the spool directory.
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
}
