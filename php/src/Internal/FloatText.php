<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * A float as Rust's `{}` writes an f64: the fewest digits that read back as the same
 * float, never with an exponent (`16`, `2.5`, `0.0000001`, `NaN`, `inf`). What the
 * extension prints, the PHP code that must print the same uses this.
 */
final class FloatText
{
    public static function of(float $value): string
    {
        if (is_nan($value)) {
            return 'NaN';
        }
        if (is_infinite($value)) {
            return $value > 0 ? 'inf' : '-inf';
        }
        if ($value == 0) {
            return fdiv(1, $value) < 0 ? '-0' : '0';
        }
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
}
