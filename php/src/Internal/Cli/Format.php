<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

/**
 * How the CLI writes things: columns, JSON, counts with their noun, durations,
 * sizes, times, and strings made fit for one line of a terminal.
 */
final class Format
{
    private const JSON = JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES
        | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;

    /** $value as pretty-printed JSON, one line break at the end. */
    public static function json(mixed $value): string
    {
        return json_encode($value, self::JSON) . "\n";
    }

    /**
     * Rows as columns, two spaces apart; the first row is the header. A row shorter
     * than the header (a note in place of the columns) is printed as it is and does
     * not widen them.
     *
     * @param list<list<string>> $rows
     */
    public static function table(array $rows, string $indent = ''): string
    {
        $columns = count($rows[0] ?? []);
        $widths = [];
        foreach ($rows as $row) {
            if (count($row) < $columns) {
                continue;
            }
            foreach ($row as $i => $cell) {
                $widths[$i] = max($widths[$i] ?? 0, self::width($cell));
            }
        }
        $out = '';
        foreach ($rows as $row) {
            $line = $indent;
            foreach ($row as $i => $cell) {
                $last = $i === count($row) - 1;
                $pad = max(1, ($widths[$i] ?? 0) - self::width($cell) + 2);
                $line .= $last ? $cell : $cell . str_repeat(' ', $pad);
            }
            $out .= rtrim($line) . "\n";
        }
        return $out;
    }

    /** `1 item`, `3 items`: $n and the noun that goes with it. */
    public static function count(int $n, string $one, string $many): string
    {
        return $n . ' ' . ($n === 1 ? $one : $many);
    }

    /** `3h 02m 05s`, `2m 05s`, `5.2s`. */
    public static function duration(float $s): string
    {
        $s = max(0.0, $s);
        if ($s < 60) {
            return sprintf('%.1fs', $s);
        }
        $t = (int) $s;
        if ($t < 3600) {
            return sprintf('%dm %02ds', intdiv($t, 60), $t % 60);
        }
        if ($t < 86400) {
            return sprintf('%dh %02dm %02ds', intdiv($t, 3600), intdiv($t % 3600, 60), $t % 60);
        }
        return sprintf('%dd %02dh %02dm', intdiv($t, 86400), intdiv($t % 86400, 3600), intdiv($t % 3600, 60));
    }

    /** `5.2s ago`. */
    public static function ago(float $s): string
    {
        return self::duration($s) . ' ago';
    }

    /** `512 B`, `20.0 KiB`, `3.4 MiB`. */
    public static function bytes(int $n): string
    {
        if ($n < 1024) {
            return $n . ' B';
        }
        if ($n < 1048576) {
            return sprintf('%.1f KiB', $n / 1024);
        }
        return sprintf('%.1f MiB', $n / 1048576);
    }

    /** A unix time as `2024-05-01T12:34:56+02:00`, in the local time zone. */
    public static function iso(float $t): string
    {
        return date('Y-m-d\TH:i:sP', (int) $t);
    }

    /** A string fit for one line of a terminal: controls escaped, bad UTF-8 replaced. */
    public static function printable(string $s): string
    {
        $s = (string) preg_replace_callback(
            '/[\x00-\x1f\x7f]/',
            static fn (array $m): string => sprintf('\x%02X', ord($m[0])),
            $s,
        );
        return preg_match('//u', $s) === 1 ? $s : self::scrub($s);
    }

    /**
     * $s as UTF-8, each ill-formed sequence replaced by U+FFFD, one for each maximal
     * subpart (as Rust's String::from_utf8_lossy, which the extension's messages use).
     */
    public static function utf8Lossy(string $s): string
    {
        if (preg_match('//u', $s) === 1) {
            return $s;
        }
        $out = '';
        $n = strlen($s);
        for ($i = 0; $i < $n;) {
            $b = ord($s[$i]);
            [$need, $lo, $hi] = match (true) {
                $b < 0x80 => [0, 0, 0],
                $b >= 0xC2 && $b <= 0xDF => [1, 0x80, 0xBF],
                $b === 0xE0 => [2, 0xA0, 0xBF],
                $b === 0xED => [2, 0x80, 0x9F],
                $b >= 0xE1 && $b <= 0xEF => [2, 0x80, 0xBF],
                $b === 0xF0 => [3, 0x90, 0xBF],
                $b >= 0xF1 && $b <= 0xF3 => [3, 0x80, 0xBF],
                $b === 0xF4 => [3, 0x80, 0x8F],
                default => [-1, 0, 0],
            };
            $j = $i + 1;
            for ($k = 0; $k < $need && $j < $n; $k++, $j++) {
                $c = ord($s[$j]);
                if ($c < $lo || $c > $hi) {
                    break;
                }
                // Only the second byte has a range of its own.
                [$lo, $hi] = [0x80, 0xBF];
            }
            $out .= $j - $i === $need + 1 ? substr($s, $i, $j - $i) : "\u{FFFD}";
            $i = $j;
        }
        return $out;
    }

    /** A job identifier as the extension prints it in messages: lossy UTF-8, NUL as `\0`. */
    public static function printableId(string $id): string
    {
        return str_replace("\0", '\0', self::utf8Lossy($id));
    }

    /** At most $max characters; a longer string ends `...`. */
    public static function cut(string $s, int $max): string
    {
        if (preg_match_all('/./us', $s, $m) <= $max) {
            return $s;
        }
        return implode('', array_slice($m[0], 0, $max - 3)) . '...';
    }

    /** Display width of a UTF-8 string (code points when mbstring is missing). */
    private static function width(string $s): int
    {
        return function_exists('mb_strwidth') ? mb_strwidth($s, 'UTF-8') : (int) preg_match_all('/./us', $s);
    }

    /** Replaces invalid UTF-8. */
    private static function scrub(string $s): string
    {
        return function_exists('mb_scrub') ? mb_scrub($s, 'UTF-8') : (string) iconv('UTF-8', 'UTF-8//IGNORE', $s);
    }
}
