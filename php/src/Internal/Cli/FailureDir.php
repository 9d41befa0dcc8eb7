<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\Settings;

/**
 * The failure store directory a command works on: `--failure-dir DIR`, which may
 * come with any command, or the setting asyncbatch.failure_dir.
 */
final class FailureDir
{
    /**
     * The directory; with `--failure-dir` also made the setting of this process, for
     * the implementation that runs the jobs (both read it from there).
     */
    public static function of(Arguments $args): string
    {
        $option = $args->value('failure-dir');
        if ($option === null) {
            return Settings::get()->failureDir;
        }
        $dir = rtrim($option, '/') ?: '/';
        @ini_set('asyncbatch.failure_dir', $dir);
        $settings = clone Settings::get();
        $settings->failureDir = $dir;
        Settings::override($settings);
        return $dir;
    }
}
