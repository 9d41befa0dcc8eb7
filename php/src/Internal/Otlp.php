<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * `format => 'otlp'`: a batch as an OTLP/HTTP JSON `ExportLogsServiceRequest`, the
 * structure the extension writes (core/src/http/otlp.rs, mapping in
 * docs/internals.md), for json_encode() to give the same bytes.
 */
final class Otlp
{
    /** Monolog's levels on OTLP's severity numbers. */
    private const SEVERITY = [[200, 5], [250, 9], [300, 10], [400, 13], [500, 17], [550, 18], [600, 19]];

    /**
     * @param list<mixed> $items
     * @param array<string, string> $resource
     */
    public static function request(array $items, array $resource): array
    {
        $scopes = [];
        foreach ($items as $item) {
            $channel = self::isRecord($item) && is_string($item['channel'] ?? null) ? $item['channel'] : 'asyncbatch';
            $scopes[$channel][] = self::logRecord($item);
        }
        $scopeLogs = [];
        foreach ($scopes as $name => $records) {
            $scopeLogs[] = ['scope' => ['name' => (string) $name], 'logRecords' => $records];
        }
        return ['resourceLogs' => [[
            'resource' => ['attributes' => self::keyValues($resource)],
            'scopeLogs' => $scopeLogs,
        ]]];
    }

    private static function isRecord(mixed $item): bool
    {
        return is_array($item) && array_key_exists('message', $item);
    }

    private static function logRecord(mixed $item): array
    {
        if (!self::isRecord($item)) {
            return ['body' => self::anyValue($item), 'attributes' => []];
        }
        $r = [];
        $nanos = self::unixNanos($item['datetime'] ?? null);
        if ($nanos !== null) {
            $r['timeUnixNano'] = $nanos;
        }
        if (is_int($item['level'] ?? null)) {
            $r['severityNumber'] = self::severityNumber($item['level']);
        }
        if (is_string($item['level_name'] ?? null)) {
            $r['severityText'] = $item['level_name'];
        }
        $r['body'] = self::anyValue($item['message']);
        $attributes = [];
        $ids = ['traceId' => null, 'spanId' => null];
        $names = ['traceId' => 'traceId', 'trace_id' => 'traceId', 'spanId' => 'spanId', 'span_id' => 'spanId'];
        foreach (['context', 'extra'] as $part) {
            foreach (is_array($item[$part] ?? null) ? $item[$part] : [] as $k => $v) {
                if (is_string($k) && isset($names[$k])) {
                    $len = $names[$k] === 'traceId' ? 32 : 16;
                    if ($ids[$names[$k]] === null && is_string($v) && strlen($v) === $len && ctype_xdigit($v) && trim($v, '0') !== '') {
                        $ids[$names[$k]] = strtolower($v);
                    }
                    continue;
                }
                $attributes[$k] = $v;
            }
        }
        $r['attributes'] = self::keyValues($attributes);
        foreach ($ids as $name => $id) {
            if ($id !== null) {
                $r[$name] = $id;
            }
        }
        return $r;
    }

    public static function severityNumber(int $level): int
    {
        foreach (self::SEVERITY as [$below, $number]) {
            if ($level < $below) {
                return $number;
            }
        }
        return 21;
    }

    /** Nanoseconds since the epoch, as a decimal string, of an RFC 3339 datetime or Unix seconds. */
    public static function unixNanos(mixed $v): ?string
    {
        if (is_int($v)) {
            return $v >= 0 && $v <= intdiv(PHP_INT_MAX, 1000000000) ? (string) ($v * 1000000000) : null;
        }
        if (!is_string($v) || !preg_match('/^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/', $v, $m)) {
            return null;
        }
        [$y, $mo, $d, $h, $mi, $s] = array_map('intval', array_slice($m, 1, 6));
        if ($mo < 1 || $mo > 12 || $d < 1 || $d > 31 || $h > 23 || $mi > 59 || $s > 60) {
            return null;
        }
        $offset = 0;
        if (isset($m[9]) && $m[9] !== '') {
            if ((int) $m[10] > 23 || (int) $m[11] > 59) {
                return null;
            }
            $offset = ((int) $m[10] * 3600 + (int) $m[11] * 60) * ($m[9] === '+' ? 1 : -1);
        }
        $secs = gmmktime(0, 0, 0, $mo, $d, $y) + $h * 3600 + $mi * 60 + $s - $offset;
        if ($secs < 0 || $secs > intdiv(PHP_INT_MAX, 1000000000) - 1) {
            return null;
        }
        $frac = ($m[7] ?? '') === '' ? 0 : (int) str_pad($m[7], 9, '0');
        return (string) ($secs * 1000000000 + $frac);
    }

    /** @param array<array-key, mixed> $pairs */
    private static function keyValues(array $pairs): array
    {
        $out = [];
        foreach ($pairs as $k => $v) {
            $out[] = ['key' => (string) $k, 'value' => self::anyValue($v)];
        }
        return $out;
    }

    private static function anyValue(mixed $v): array|object
    {
        return match (true) {
            $v === null => new \stdClass(),
            is_bool($v) => ['boolValue' => $v],
            is_int($v) => ['intValue' => (string) $v],
            is_float($v) => ['doubleValue' => is_nan($v) ? 'NaN' : (is_infinite($v) ? ($v > 0 ? 'Infinity' : '-Infinity') : $v)],
            is_string($v) => ['stringValue' => $v],
            is_array($v) && array_is_list($v) => ['arrayValue' => ['values' => array_map(self::anyValue(...), $v)]],
            is_array($v) => ['kvlistValue' => ['values' => self::keyValues($v)]],
            // Items are plain data by the time they are delivered.
            default => ['stringValue' => get_debug_type($v)],
        };
    }
}
