<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The daemon's options (`asyncbatch daemon --workers N --stop-timeout S --metrics
 * [HOST:]PORT [--metrics-public]`) and `drain --max-time S`: a copy of their
 * declaration in core (core/src/daemon/options.rs), for the CLI without the
 * extension, where the daemon cannot run but a bad value is still a usage error.
 * With the extension the CLI asks Daemon::parseOptions() instead; phpt 121 holds
 * the two equal.
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
     * is the default. The keys `bootstrap` and `log` are passed over. `metrics` is
     * `--metrics` as typed and `metricsPublic` the flag `--metrics-public` (`'1'`):
     * checked, not returned.
     *
     * @param array{workers?: string|int|float|null, stopTimeout?: string|int|float|null, metrics?: ?string, metricsPublic?: mixed, bootstrap?: string, log?: ?string} $options
     * @return array{workers: int, stopTimeout: float}
     * @throws \ValueError whose message is the CLI's usage error
     */
    public static function parse(array $options): array
    {
        $out = ['workers' => self::DEFAULT_WORKERS, 'stopTimeout' => self::DEFAULT_STOP_TIMEOUT];
        $known = ['workers', 'stopTimeout', 'metrics', 'metricsPublic', 'bootstrap', 'log'];
        foreach ($options as $key => $value) {
            if (!in_array($key, $known, true)) {
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
        $metrics = self::text($options['metrics'] ?? null);
        // As PHP reads a flag: '1' (what the CLI passes) and true are set, '0' and '' not.
        $public = (bool) ($options['metricsPublic'] ?? false);
        if ($metrics !== null) {
            self::metrics($metrics, $public);
        } elseif ($public) {
            throw new \ValueError("option '--metrics-public' needs '--metrics [HOST:]PORT'");
        }
        return $out;
    }

    /**
     * `--max-time SECONDS` of `asyncbatch drain` (core's parse_max_time): a number of
     * seconds > 0 and at most a day, as `--stop-timeout`.
     *
     * @throws \ValueError whose message is the CLI's usage error
     */
    public static function maxTime(string $value): float
    {
        return self::seconds($value) ?? throw new \ValueError(sprintf(
            "option '--max-time' needs a number of seconds > 0 and at most %d, got '%s'",
            self::MAX_STOP_TIMEOUT,
            $value,
        ));
    }

    /**
     * `--metrics [HOST:]PORT` (core's parse_metrics): PORT alone, or `localhost:PORT`,
     * listens on 127.0.0.1; else an IPv4 `a.b.c.d:PORT` or IPv6 `[addr]:PORT`
     * literal; the port 1 to 65535. The metrics name the jobs and count their
     * errors: an address beyond loopback must be asked for with `--metrics-public`.
     *
     * @throws \ValueError
     */
    private static function metrics(string $value, bool $public): void
    {
        $bad = new \ValueError(sprintf(
            "option '--metrics' needs PORT or HOST:PORT (an IP address or localhost, port 1 to 65535), got '%s'",
            $value,
        ));
        if (preg_match('/^[0-9]*$/D', $value) === 1) {
            self::port($value) ?? throw $bad;
            return; // 127.0.0.1
        }
        if (str_starts_with($value, 'localhost:')) {
            // Rust's u16 parse also takes a `+`.
            $port = substr($value, 10);
            self::port(str_starts_with($port, '+') ? substr($port, 1) : $port) ?? throw $bad;
            return;
        }
        if (preg_match('/^(?:([0-9.]+)|\[([0-9A-Fa-f:.]+)(?:%[0-9]+)?\]):([0-9]+)$/D', $value, $m) !== 1) {
            throw $bad;
        }
        [, $v4, $v6, $port] = $m;
        self::port($port) ?? throw $bad;
        if ($v4 !== '') {
            // Four decimal octets, no leading zeros (filter_var refuses them as Rust does).
            filter_var($v4, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) !== false || throw $bad;
            $loopback = str_starts_with($v4, '127.');
        } else {
            filter_var($v6, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6) !== false || throw $bad;
            $loopback = inet_pton($v6) === inet_pton('::1');
        }
        if (!$loopback && !$public) {
            throw new \ValueError(sprintf('--metrics %s listens beyond loopback: add --metrics-public to mean it', $value));
        }
    }

    /** Digits (leading zeros allowed) making a port from 1 to 65535, or null. */
    private static function port(string $digits): ?int
    {
        if (preg_match('/^[0-9]+$/D', $digits) !== 1) {
            return null;
        }
        $n = ltrim($digits, '0');
        return $n !== '' && strlen($n) <= 5 && (int) $n <= 65535 ? (int) $n : null;
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
        return is_float($value) ? FloatText::of($value) : null;
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
