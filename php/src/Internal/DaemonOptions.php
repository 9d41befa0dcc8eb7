<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The daemon's options (`asyncbatch daemon --workers N --stop-timeout S`): a copy
 * of their declaration in core (core/src/daemon/options.rs), for the CLI without
 * the extension, where the daemon cannot run but a bad value is still a usage
 * error. With the extension the CLI asks Daemon::parseOptions() instead; phpt 121
 * holds the two equal.
 */
final class DaemonOptions
{
    /** Daemon workers when `--workers` is not given. */
    public const DEFAULT_WORKERS = 2;
    /** The most daemon workers one daemon runs. */
    public const MAX_WORKERS = 256;
    /** Seconds a stop may take when `--stop-timeout` is not given. */
    public const DEFAULT_STOP_TIMEOUT = 10.0;
    /** The longest `--stop-timeout`, in seconds (a day). */
    public const MAX_STOP_TIMEOUT = 86400.0;

    /** What Rust's str::trim() removes: Unicode White_Space. */
    private const SPACE = '[\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]';

    /**
     * Checks the options as the user typed them, as Daemon::parseOptions() does (the
     * CLI passes strings; numbers are read as their text); a key not given, or null,
     * is the default. The keys `bootstrap` and `log` are passed over.
     *
     * @param array{workers?: string|int|float|null, stopTimeout?: string|int|float|null, bootstrap?: string, log?: ?string} $options
     * @return array{workers: int, stopTimeout: float}
     * @throws \ValueError whose message is the CLI's usage error
     */
    public static function parse(array $options): array
    {
        $out = ['workers' => self::DEFAULT_WORKERS, 'stopTimeout' => self::DEFAULT_STOP_TIMEOUT];
        foreach ($options as $key => $value) {
            if ($key !== 'workers' && $key !== 'stopTimeout' && $key !== 'bootstrap' && $key !== 'log') {
                throw new \ValueError(sprintf("unknown option '%s'", $key));
            }
        }
        $workers = self::text($options['workers'] ?? null);
        if ($workers !== null) {
            // Digits only: no sign, no exponent, no fraction ("1.5" is not 1).
            $n = preg_match('/^[0-9]{1,10}$/D', $workers) === 1 ? (int) $workers : 0;
            if ($n < 1 || $n > self::MAX_WORKERS) {
                throw new \ValueError(sprintf(
                    "option '--workers' needs a whole number from 1 to %d, got '%s'",
                    self::MAX_WORKERS,
                    $workers,
                ));
            }
            $out['workers'] = $n;
        }
        $stop = self::text($options['stopTimeout'] ?? null);
        if ($stop !== null) {
            $secs = self::seconds($stop);
            if ($secs === null) {
                throw new \ValueError(sprintf(
                    "option '--stop-timeout' needs a number of seconds > 0 and at most %d, got '%s'",
                    self::MAX_STOP_TIMEOUT,
                    $stop,
                ));
            }
            $out['stopTimeout'] = $secs;
        }
        return $out;
    }

    /**
     * An option's value as text, as the extension takes it: a string as it is, an int
     * in decimal, a float as Rust writes one (`16`, `2.5`, `0.0000001`, `NaN`); null,
     * not given, for anything else.
     */
    private static function text(mixed $value): ?string
    {
        if (is_string($value)) {
            return $value;
        }
        if (is_int($value)) {
            return (string) $value;
        }
        if (!is_float($value)) {
            return null;
        }
        if (is_nan($value)) {
            return 'NaN';
        }
        if (is_infinite($value)) {
            return $value > 0 ? 'inf' : '-inf';
        }
        if ($value == 0) {
            return fdiv(1, $value) < 0 ? '-0' : '0';
        }
        // The fewest digits that read back as $value, written out without an exponent.
        $p = 0;
        while ($p < 17 && (float) sprintf("%.{$p}e", $value) !== $value) {
            $p++;
        }
        preg_match('/^(-?)(\d)\.?(\d*)e([+-]\d+)$/D', sprintf("%.{$p}e", $value), $m);
        [, $sign, $first, $rest, $exp] = $m;
        $digits = rtrim($first . $rest, '0') ?: '0';
        $point = 1 + (int) $exp;
        if ($point <= 0) {
            $text = '0.' . str_repeat('0', -$point) . $digits;
        } elseif ($point >= strlen($digits)) {
            $text = $digits . str_repeat('0', $point - strlen($digits));
        } else {
            $text = substr($digits, 0, $point) . '.' . substr($digits, $point);
        }
        return $sign . $text;
    }

    /**
     * A plain decimal number ("10", "0.5", " 2 ", "2e1", not "inf" or "NaN"), finite,
     * > 0 and at most a day, to the nanosecond (core keeps it as a Duration).
     */
    private static function seconds(string $s): ?float
    {
        $t = preg_replace('/^' . self::SPACE . '+|' . self::SPACE . '+$/Du', '', $s);
        // Rust's grammar for an f64, without its inf and NaN.
        if (!is_string($t) || preg_match('/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/D', $t) !== 1) {
            return null;
        }
        $v = (float) $t;
        if (!is_finite($v) || $v <= 0 || $v > self::MAX_STOP_TIMEOUT) {
            return null;
        }
        $whole = floor($v);
        return $whole + round(($v - $whole) * 1e9) / 1e9;
    }
}
