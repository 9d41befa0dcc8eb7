<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Daemon;

/**
 * What the CLI needs of the asyncbatch extension, and what it says when the
 * extension is missing: the failure-store commands and drain run on it or, with
 * `--polyfill`, on the pure-PHP implementation; daemon and consume need its
 * AsyncBatch\Internal\Daemon (drain too, when it runs on the extension).
 */
final class Extension
{
    public static function loaded(): bool
    {
        return extension_loaded('asyncbatch');
    }

    /**
     * For the failure-store commands and drain: the extension, or `--polyfill`.
     *
     * @param string $command named in the message (the failure-store commands do not)
     * @throws \RuntimeException saying how to load it
     */
    public static function requireApi(bool $polyfill, string $command = ''): void
    {
        if (!self::loaded() && !$polyfill) {
            throw new \RuntimeException(
                "the asyncbatch extension is not loaded.\n"
                . self::howToLoad($command) . ",\n"
                . 'or add --polyfill to run this command with the pure-PHP implementation instead.',
            );
        }
        // Without the extension bin/asyncbatch has loaded autoload.php: AsyncBatchRunner is the polyfill's.
    }

    /**
     * For daemon, consume and the extension's drain: the extension, with its daemon runner.
     *
     * @throws \RuntimeException saying what is missing
     */
    public static function requireDaemon(string $command): void
    {
        if (!self::loaded()) {
            throw new \RuntimeException(
                "$command needs the asyncbatch extension (the pure-PHP polyfill has no daemon runner, "
                . "so --polyfill does not apply).\n"
                . self::howToLoad($command) . '.',
            );
        }
        if (!self::hasDaemon()) {
            throw new \RuntimeException(sprintf(
                'this build of the asyncbatch extension (%s) has no daemon runner: %s is missing',
                phpversion('asyncbatch') ?: 'unknown version',
                Daemon::class,
            ));
        }
    }

    /** Whether the extension's daemon runner is here (never with the polyfill alone). */
    public static function hasDaemon(): bool
    {
        return class_exists(Daemon::class, false);
    }

    /** `Load it with 'php -d extension=asyncbatch.so asyncbatch daemon ...' or ...` */
    private static function howToLoad(string $command): string
    {
        return "Load it with 'php -d extension=asyncbatch.so " . ($_SERVER['argv'][0] ?? 'asyncbatch')
            . ($command === '' ? '' : ' ' . $command) . " ...' or the php.ini line 'extension=asyncbatch.so'";
    }
}
