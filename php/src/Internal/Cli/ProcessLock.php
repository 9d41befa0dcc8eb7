<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Fs;

/**
 * A process lock in the spool directory (`drain.lock`), taken as the extension takes
 * it (core/src/daemon/lock.rs), so that a polyfill drain and an extension drain keep
 * each other out: the file created 0600 (or opened, never through a symbolic link),
 * an exclusive flock without waiting, and the holder's pid written inside for the
 * message of the next one. Held until the process ends.
 */
final class ProcessLock
{
    /** @var list<resource> the locks this process holds: kept open, so kept locked */
    private static array $held = [];

    /**
     * Takes `{dir}/{name}.lock`.
     *
     * @return int|null null when taken; the holder's pid when another process holds
     *                  it (as it wrote it, 0 when that cannot be read)
     * @throws \RuntimeException when the file cannot be opened or locked
     */
    public static function take(string $dir, string $name): ?int
    {
        $path = $dir . '/' . $name . '.lock';
        $fh = Fs::createExclusive($path);
        if (is_string($fh)) {
            if (is_link($path)) {
                throw new \RuntimeException(sprintf('cannot open %s: it is a symbolic link', $path));
            }
            $fh = @fopen($path, 'r+b');
            if ($fh === false) {
                throw new \RuntimeException(sprintf(
                    'cannot open %s: %s',
                    $path,
                    Fs::why(error_get_last()['message'] ?? 'unknown error'),
                ));
            }
        }
        if (!flock($fh, LOCK_EX | LOCK_NB, $wouldBlock)) {
            if (!$wouldBlock) {
                fclose($fh);
                throw new \RuntimeException(sprintf('cannot lock %s', $path));
            }
            $text = trim((string) stream_get_contents($fh));
            fclose($fh);
            // As Rust's u32 parse: digits, an optional `+`; anything else is unknown.
            return preg_match('/^\+?[0-9]{1,10}$/D', $text) === 1 && (int) $text <= 0xffffffff ? (int) $text : 0;
        }
        ftruncate($fh, 0);
        rewind($fh);
        fwrite($fh, (string) getmypid());
        fflush($fh);
        self::$held[] = $fh;
        return null;
    }
}
