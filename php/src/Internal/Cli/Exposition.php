<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\FloatText;

/**
 * Prometheus' text exposition format (version 0.0.4) being written: each family once,
 * with its HELP and TYPE lines, then its samples; label values escaped and sample
 * values written as the daemon writes them (core/src/daemon/metrics.rs), so that
 * `status --format prometheus` reads the same with a daemon as without.
 */
final class Exposition
{
    private string $text = '';
    private string $family = '';

    /** Starts a family: `# HELP` and `# TYPE` lines. */
    public function family(string $name, string $type, string $help): void
    {
        $this->text .= "# HELP $name $help\n# TYPE $name $type\n";
        $this->family = $name;
    }

    /**
     * A sample of the current family.
     *
     * @param array<string, string> $labels
     */
    public function sample(array $labels, float $value): void
    {
        $line = $this->family;
        if ($labels !== []) {
            $pairs = [];
            foreach ($labels as $k => $v) {
                $pairs[] = $k . '="' . self::escape($v) . '"';
            }
            $line .= '{' . implode(',', $pairs) . '}';
        }
        $this->text .= $line . ' ' . self::number($value) . "\n";
    }

    /**
     * A family with one sample per job label.
     *
     * @param array<string, float> $samples by job label
     */
    public function perJob(string $name, string $type, string $help, array $samples): void
    {
        $this->family($name, $type, $help);
        foreach ($samples as $job => $v) {
            $this->sample(['job' => (string) $job], $v);
        }
    }

    public function text(): string
    {
        return $this->text;
    }

    /** A label value as the format wants it: `\`, `"` and line feeds escaped. */
    public static function escape(string $v): string
    {
        return str_replace(['\\', '"', "\n"], ['\\\\', '\\"', '\\n'], $v);
    }

    /** A sample value: a whole number without a fraction, others as Rust writes an f64. */
    public static function number(float $v): string
    {
        if (is_finite($v) && floor($v) === $v && abs($v) < 1e15) {
            return (string) (int) $v;
        }
        return FloatText::of($v);
    }
}
