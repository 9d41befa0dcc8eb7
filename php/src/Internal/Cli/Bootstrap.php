<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\UsageError;

/**
 * The application's bootstrap file, the one that registers the jobs with
 * registerAsyncJob(): named by `--bootstrap FILE`, checked to exist, and loaded the
 * same way by every command that needs the jobs (failed:retry, drain, the daemon's
 * workers).
 */
final class Bootstrap
{
    /**
     * The `--bootstrap` of $args.
     *
     * @throws UsageError when it was not given
     */
    public static function option(Arguments $args): string
    {
        return $args->value('bootstrap') ?? throw new UsageError(sprintf(
            '%s needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()',
            $args->command,
        ));
    }

    /**
     * $file, when it is a file.
     *
     * @throws \RuntimeException naming it when it is not
     */
    public static function existing(string $file): string
    {
        if (!is_file($file)) {
            throw new \RuntimeException(sprintf('bootstrap file %s not found', $file));
        }
        return $file;
    }

    /**
     * Requires the file in a scope of its own. A throw becomes an error naming the
     * file, the exception and where it was thrown (exit status 1).
     *
     * @throws \RuntimeException
     */
    public static function load(string $file): void
    {
        try {
            (static function (string $file): void {
                require $file;
            })($file);
        } catch (\Throwable $e) {
            throw new \RuntimeException(sprintf(
                'the bootstrap file %s threw %s: %s (in %s:%d)',
                $file,
                get_class($e),
                $e->getMessage(),
                $e->getFile(),
                $e->getLine(),
            ), 0, $e);
        }
    }
}
