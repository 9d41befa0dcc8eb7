<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The `asyncbatch.*` ini settings, read once with get_cfg_var() (php.ini and `-d`),
 * with the defaults of docs/internals.md. An invalid value gives one warning naming
 * the setting and the default is used.
 */
final class Settings
{
    private static ?self $current = null;

    /**
     * `auto`, `shutdown`, `daemon` or `spool`; ASYNCBATCH_RUNNER overrides the ini. By
     * default, `auto`. The polyfill runs `spool` as the spool runner and every other
     * value as the shutdown runner.
     */
    public string $runner = 'auto';
    /** Spool directory. By default, `{tmp}/asyncbatch-{euid}/spool`. */
    public string $spoolDir;
    /** Failure store directory. By default, `{tmp}/asyncbatch-{euid}/failed`. */
    public string $failureDir;
    /**
     * `{tmp}/asyncbatch-{euid}` when either directory is left to its default, else null:
     * it is in the shared temporary directory, so it is checked like the directories.
     */
    public ?string $defaultBase = null;
    /** Cap on the failure store, in bytes (ini in MiB). By default, 64 MiB. */
    public int $failureCapBytes = 64 * 1048576;
    /** Call fastcgi_finish_request() before delivering at shutdown. By default, on. */
    public bool $finishRequest = true;
    /** Seconds of delivery at shutdown before the rest is spooled. By default, 10. */
    public float $shutdownBudget = 10.0;
    /** Largest MessagePack-encoded item, in bytes. By default, 1048576. */
    public int $maxItemSize = 1048576;

    /** The settings of this process, read on first use. */
    public static function get(): self
    {
        return self::$current ??= self::load();
    }

    /** Replaces the settings of this process (the CLI does for --failure-dir and drain). */
    public static function override(self $settings): void
    {
        self::$current = $settings;
    }

    /**
     * Every request reads them once: the values are fetched in line, a helper is
     * called only for a value that is set.
     */
    private static function load(): self
    {
        $s = new self();
        $spool = get_cfg_var('asyncbatch.spool_dir');
        $spool = is_string($spool) && trim($spool) !== '' ? $spool : null;
        $failed = get_cfg_var('asyncbatch.failure_dir');
        $failed = is_string($failed) && trim($failed) !== '' ? $failed : null;
        if ($spool === null || $failed === null) {
            $s->defaultBase = rtrim(sys_get_temp_dir(), '/') . '/asyncbatch-' . Fs::euid();
        }
        $s->spoolDir = $spool === null ? $s->defaultBase . '/spool' : self::dir($spool);
        $s->failureDir = $failed === null ? $s->defaultBase . '/failed' : self::dir($failed);

        $runner = get_cfg_var('asyncbatch.runner');
        if (is_string($runner)) {
            $s->runner = self::runner($runner, 'asyncbatch.runner', 'auto');
        }
        $env = getenv('ASYNCBATCH_RUNNER');
        if (is_string($env) && $env !== '') {
            $s->runner = self::runner($env, 'ASYNCBATCH_RUNNER', $s->runner);
        }

        $mb = get_cfg_var('asyncbatch.failure_dir_max_mb');
        if (is_string($mb)) {
            if (is_numeric($mb) && (float) $mb >= 0 && is_finite((float) $mb)) {
                $s->failureCapBytes = (int) round((float) $mb * 1048576);
            } else {
                self::invalid($mb, 'asyncbatch.failure_dir_max_mb', '64');
            }
        }

        $finish = get_cfg_var('asyncbatch.finish_request');
        if (is_string($finish)) {
            $flag = filter_var($finish, FILTER_VALIDATE_BOOLEAN, FILTER_NULL_ON_FAILURE);
            if ($flag === null) {
                self::invalid($finish, 'asyncbatch.finish_request', '1');
            } else {
                $s->finishRequest = $flag;
            }
        }

        $budget = get_cfg_var('asyncbatch.shutdown_budget');
        if (is_string($budget)) {
            if (is_numeric($budget) && (float) $budget >= 0 && is_finite((float) $budget)) {
                $s->shutdownBudget = (float) $budget;
            } else {
                self::invalid($budget, 'asyncbatch.shutdown_budget', '10');
            }
        }

        $max = get_cfg_var('asyncbatch.max_item_size');
        if (is_string($max)) {
            $t = trim($max);
            if (preg_match('/^\+?[0-9]+$/D', $t) === 1 && is_int($t + 0)) {
                $s->maxItemSize = (int) $t;
            } else {
                self::invalid($max, 'asyncbatch.max_item_size', '1048576');
            }
        }
        return $s;
    }

    /** A directory setting that is set: without its trailing slashes (`/` stays). */
    private static function dir(string $v): string
    {
        $v = rtrim($v, '/');
        return $v === '' ? '/' : $v;
    }

    private static function runner(string $value, string $name, string $default): string
    {
        $v = strtolower(trim($value));
        if (in_array($v, ['auto', 'shutdown', 'daemon', 'spool'], true)) {
            return $v;
        }
        self::invalid($value, $name, $default);
        return $default;
    }

    private static function invalid(string $value, string $name, string $default): void
    {
        trigger_error(
            sprintf("asyncbatch: invalid value '%s' for %s, using %s", $value, $name, $default),
            E_USER_WARNING,
        );
    }
}
