<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * File-system rules shared by the spool and the failure store: job keys in file
 * names, time stamps, directory creation and refusal, exclusive 0600 files and
 * claiming a file by lock.
 */
final class Fs
{
    private static ?int $euid = null;
    /** @var array<string, string> job keys made, by identifier */
    private static array $keys = [];

    /** The effective uid of this process. */
    public static function euid(): int
    {
        return self::$euid ??= function_exists('posix_geteuid') ? posix_geteuid() : getmyuid();
    }

    /**
     * The job identifier as it appears in file names: `A-Z a-z 0-9 _ -` kept, every
     * other byte `%XX`; over 100 characters, the first 80 then `~` and crc32 in hex.
     */
    public static function jobKey(string $identifier): string
    {
        if (isset(self::$keys[$identifier])) {
            // Each segment written makes one: a job's is made once.
            return self::$keys[$identifier];
        }
        $key = preg_replace_callback(
            '/[^A-Za-z0-9_\-]/',
            static fn (array $m): string => sprintf('%%%02X', ord($m[0])),
            $identifier,
        );
        if (strlen($key) > 100) {
            $key = substr($key, 0, 80) . '~' . sprintf('%08x', crc32($identifier));
        }
        if (count(self::$keys) < 256) {
            self::$keys[$identifier] = $key;
        }
        return $key;
    }

    /** The job key of a spool or failure file name (what comes before the first dot). */
    public static function keyOf(string $name): string
    {
        $dot = strpos($name, '.');
        return $dot === false ? $name : substr($name, 0, $dot);
    }

    /** Microseconds since the epoch, zero-padded to 16 digits. */
    public static function micros(): string
    {
        // microtime() is "0.{8 digits} {seconds}": the first 6 digits are the microseconds.
        $t = microtime();
        $sec = substr($t, 11);
        return (strlen($sec) < 10 ? str_pad($sec, 10, '0', STR_PAD_LEFT) : $sec) . substr($t, 2, 6);
    }

    /**
     * Creates $dir (each missing component 0700) and checks it may be used.
     *
     * @return string|null why the directory is refused, or null when it is fine
     */
    public static function ensureDir(string $dir, string $what): ?string
    {
        $why = self::checkDefaultBase($dir, true);
        if ($why !== null) {
            return $why;
        }
        if (!file_exists($dir) && !is_link($dir)) {
            $missing = [];
            for ($d = $dir; !in_array($d, ['', '/', '.'], true) && !file_exists($d) && !is_link($d); $d = dirname($d)) {
                $missing[] = $d;
            }
            foreach (array_reverse($missing) as $d) {
                if (@mkdir($d, 0700)) {
                    @chmod($d, 0700); // whatever the umask
                } elseif (!is_dir($d)) {
                    $e = error_get_last();
                    $why = self::why($e['message'] ?? 'unknown error');
                    return sprintf('cannot create %s directory %s: %s', $what, $dir, $why);
                }
            }
        }
        return self::checkDir($dir, $what);
    }

    /**
     * Checks an existing directory: not a symbolic link, a directory, owned by the
     * effective uid, not writable by group or others.
     *
     * @return string|null why the directory is refused, or null when it is fine
     */
    public static function checkDir(string $dir, string $what): ?string
    {
        return self::checkDefaultBase($dir, false) ?? self::check($dir, $what . ' directory');
    }

    /**
     * The parent of the default directories, `{tmp}/asyncbatch-{euid}`, is in the shared
     * temporary directory, where another local user could make it first: for a
     * directory under it, it is created 0700 when missing ($create) and refused like
     * the directories themselves (`refusing to use directory …`), as the extension does.
     */
    private static function checkDefaultBase(string $dir, bool $create): ?string
    {
        $base = Settings::get()->defaultBase;
        if ($base === null || !str_starts_with($dir, $base . '/')) {
            return null;
        }
        if ($create && !file_exists($base) && !is_link($base)) {
            if (@mkdir($base, 0700)) {
                @chmod($base, 0700); // whatever the umask
            } elseif (!is_dir($base)) {
                $e = error_get_last();
                return sprintf('cannot create directory %s: %s', $base, self::why($e['message'] ?? 'unknown error'));
            }
        }
        return self::check($base, 'directory');
    }

    /** Why $dir (named $label in the message) may not be used, or null. */
    private static function check(string $dir, string $label): ?string
    {
        clearstatcache(true, $dir);
        $st = @lstat($dir);
        if ($st === false) {
            return sprintf('cannot use %s %s: it does not exist', $label, $dir);
        }
        $mode = $st['mode'];
        if (($mode & 0170000) === 0040000 && $st['uid'] === self::euid() && ($mode & 0022) === 0) {
            return null;
        }
        $prefix = sprintf('refusing to use %s %s: ', $label, $dir);
        if (($mode & 0170000) === 0120000) {
            return $prefix . 'it is a symbolic link';
        }
        if (($mode & 0170000) !== 0040000) {
            return $prefix . 'not a directory';
        }
        if ($st['uid'] !== self::euid()) {
            return $prefix . sprintf('owned by uid %d, not %d', $st['uid'], self::euid());
        }
        return $prefix . sprintf('writable by group or others (mode %04o)', $mode & 07777);
    }

    /**
     * Creates $path with mode 0600, failing if anything exists there (`x` never
     * follows a symbolic link).
     *
     * @return resource|string the open handle, or why it could not be created
     */
    public static function createExclusive(string $path)
    {
        $old = umask(0077);
        try {
            $fh = @fopen($path, 'xb');
        } finally {
            umask($old);
        }
        if ($fh === false) {
            $e = error_get_last();
            return self::why($e['message'] ?? 'unknown error');
        }
        return $fh;
    }

    /**
     * Opens and locks a file for its reader: refuses a symbolic link, takes
     * `flock(LOCK_EX|LOCK_NB)` and checks the path still names the locked inode.
     *
     * @return resource|null the locked handle, or null when another process has it
     */
    public static function claim(string $path)
    {
        if (is_link($path)) {
            return null;
        }
        $fh = @fopen($path, 'rb');
        if ($fh === false) {
            return null;
        }
        if (!flock($fh, LOCK_EX | LOCK_NB)) {
            fclose($fh);
            return null;
        }
        clearstatcache(true, $path);
        $held = fstat($fh);
        $now = @lstat($path);
        if ($held === false || $now === false || $held['ino'] !== $now['ino'] || $held['dev'] !== $now['dev']) {
            fclose($fh);
            return null;
        }
        return $fh;
    }

    /** Writes all of $bytes or says why not. */
    public static function writeAll($fh, string $bytes): ?string
    {
        $len = strlen($bytes);
        for ($done = 0; $done < $len; $done += $n) {
            $n = @fwrite($fh, $done === 0 ? $bytes : substr($bytes, $done));
            if ($n === false || $n === 0) {
                $e = error_get_last();
                return self::why($e['message'] ?? 'short write (disk full?)');
            }
        }
        return @fflush($fh) ? null : 'flush failed (disk full?)';
    }

    /** A PHP warning message without the function name and path in front of it. */
    public static function why(string $message): string
    {
        $p = strrpos($message, '): ');
        return $p === false ? $message : substr($message, $p + 3);
    }
}
