<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\UsageError;

/**
 * The command line, parsed: the command, its options (each checked against the
 * options that command takes) and its arguments. `--polyfill`, `--failure-dir DIR`
 * and `-h`/`--help` may come anywhere; the first word that is not an option is the
 * command (`help` when there is none). Anything it cannot parse is a UsageError.
 */
final class Arguments
{
    /** Options each command takes; true for those with a value. */
    private const OPTIONS = [
        'failed:list' => ['job' => true, 'json' => false],
        'failed:show' => [],
        'failed:retry' => ['bootstrap' => true, 'job' => true],
        'failed:purge' => ['job' => true, 'all' => false, 'older-than' => true],
        'daemon' => [
            'bootstrap' => true, 'workers' => true, 'stop-timeout' => true, 'log' => true, 'forward' => true,
            'metrics' => true, 'metrics-public' => false,
        ],
        'consume' => [
            'bootstrap' => true, 'workers' => true, 'stop-timeout' => true, 'log' => true,
            'redis' => true, 'group' => true, 'claim-idle' => true, 'max-deliveries' => true,
        ],
        'drain' => ['bootstrap' => true, 'max-time' => true],
        'status' => ['json' => false, 'format' => true, 'redis' => true, 'group' => true],
        'help' => [],
    ];

    /**
     * @param array<string, string|true> $options by name without the dashes: a
     *        value, or true for a flag
     * @param list<string> $args
     */
    private function __construct(
        public readonly string $command,
        public readonly array $options,
        public readonly array $args,
        public readonly bool $polyfill,
    ) {
    }

    /**
     * @param list<string> $argv the arguments, without the program name
     * @throws UsageError
     */
    public static function parse(array $argv): self
    {
        $command = null;
        $polyfill = false;
        $options = [];
        $rest = [];
        for ($i = 0; $i < count($argv); $i++) {
            $a = $argv[$i];
            if ($a === '--polyfill') {
                $polyfill = true;
            } elseif ($a === '-h' || $a === '--help') {
                $command = 'help';
            } elseif ($a === '--failure-dir' || str_starts_with($a, '--failure-dir=')) {
                $options['failure-dir'] = self::take($argv, $i, 'failure-dir');
            } elseif ($command === null && !str_starts_with($a, '-')) {
                $command = $a;
            } else {
                $rest[] = $a;
            }
        }
        $command ??= 'help';
        if (!isset(self::OPTIONS[$command])) {
            throw new UsageError(sprintf("unknown command '%s'", $command));
        }

        $known = self::OPTIONS[$command];
        $args = [];
        for ($i = 0; $i < count($rest); $i++) {
            $a = $rest[$i];
            if (!str_starts_with($a, '--') || $a === '--') {
                $args[] = $a;
                continue;
            }
            $name = substr($a, 2);
            $eq = strpos($name, '=');
            if ($eq !== false) {
                $name = substr($name, 0, $eq);
            }
            if (!array_key_exists($name, $known)) {
                throw new UsageError(sprintf("unknown option '--%s' for %s", $name, $command));
            }
            if ($known[$name]) {
                $options[$name] = self::take($rest, $i, $name);
            } elseif ($eq !== false) {
                throw new UsageError(sprintf("option '--%s' takes no value", $name));
            } else {
                $options[$name] = true;
            }
        }
        $wanted = $command === 'failed:show' ? 1 : 0;
        if (count($args) !== $wanted) {
            throw new UsageError($wanted === 1
                ? 'failed:show needs one NAME or PATH of a failure file'
                : sprintf("unexpected argument '%s' for %s", $args[0], $command));
        }
        return new self($command, $options, $args, $polyfill);
    }

    /** Whether the option (or flag) was given. */
    public function has(string $name): bool
    {
        return isset($this->options[$name]);
    }

    /** The value of an option that takes one, or null when it was not given. */
    public function value(string $name): ?string
    {
        $v = $this->options[$name] ?? null;
        return is_string($v) ? $v : null;
    }

    /**
     * The value of the option at $argv[$i]: after its `=`, or the next argument
     * (then $i moves on to it).
     *
     * @param list<string> $argv
     */
    private static function take(array $argv, int &$i, string $name): string
    {
        $a = $argv[$i];
        $eq = strpos($a, '=');
        if ($eq !== false) {
            return substr($a, $eq + 1);
        }
        if (!isset($argv[$i + 1])) {
            throw new UsageError(sprintf("option '--%s' needs a value", $name));
        }
        return $argv[++$i];
    }
}
