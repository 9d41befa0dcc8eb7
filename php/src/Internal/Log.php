<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The two ways the runtime reports a problem that is not the caller's fault at that
 * moment: a line through error_log(), and a warning given at most once per reason.
 */
final class Log
{
    /** @var array<string, true> reasons already reported in this process */
    private static array $warned = [];

    /** Logs one line, prefixed `asyncbatch: `, with error_log() semantics (line breaks escaped). */
    public static function line(string $message): void
    {
        error_log('asyncbatch: ' . strtr($message, ["\r" => '\\r', "\n" => '\\n']));
    }

    /** Logs that $what failed, and why: "asyncbatch: $what (Class: message)", one line. */
    public static function caught(string $what, \Throwable $e): void
    {
        self::line($what . ' (' . \get_class($e) . ': ' . $e->getMessage() . ')');
    }

    /** "1 item", "2 items". */
    public static function items(int $n): string
    {
        return $n === 1 ? '1 item' : $n . ' items';
    }

    /** Logs one line, once per process for each $reason. */
    public static function lineOnce(string $reason, string $message): void
    {
        if (!isset(self::$warned[$reason])) {
            self::$warned[$reason] = true;
            self::line($message);
        }
    }

    /** Gives a warning, once per process for each $reason. */
    public static function warnOnce(string $reason, string $message): void
    {
        if (isset(self::$warned[$reason])) {
            return;
        }
        self::$warned[$reason] = true;
        trigger_error('asyncbatch: ' . $message, E_USER_WARNING);
    }

    /** Gives a warning every time. */
    public static function warn(string $message): void
    {
        trigger_error('asyncbatch: ' . $message, E_USER_WARNING);
    }
}
