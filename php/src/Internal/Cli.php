<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The `asyncbatch` command: list, show, retry and purge the failure store. Reading
 * files uses the PHP readers of the shared formats, with or without the extension;
 * only `failed:retry` calls the API (the extension's, or the polyfill's with
 * `--polyfill`).
 */
final class Cli
{
    private const USAGE = <<<'TXT'
        Usage: asyncbatch <command> [options]

        Commands:
          failed:list [--job ID] [--json]             list stored failed batches
          failed:show NAME|PATH                       print one failed batch as JSON
          failed:retry --bootstrap FILE [--job ID]    replay failed batches through the jobs
                                                      the bootstrap file registers
          failed:purge (--job ID | --all) [--older-than SECONDS]
                                                      delete failed batches
          help                                        show this help

        Options:
          --failure-dir DIR   failure store directory (default: ini asyncbatch.failure_dir)
          --polyfill          run with the pure-PHP implementation when the asyncbatch
                              extension is not loaded

        Exit status: 0 done, 1 error, 2 bad usage.

        TXT;

    /** Options each command takes; true for those with a value. */
    private const OPTIONS = [
        'failed:list' => ['job' => true, 'json' => false],
        'failed:show' => [],
        'failed:retry' => ['bootstrap' => true, 'job' => true],
        'failed:purge' => ['job' => true, 'all' => false, 'older-than' => true],
        'help' => [],
    ];

    private const JSON = JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES
        | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;

    /** @var array<string, string|true> */
    private array $opts = [];
    /** @var list<string> */
    private array $args = [];
    private string $failureDir;

    /**
     * Runs the command line and returns the exit status.
     *
     * @param list<string> $argv
     */
    public static function main(array $argv): int
    {
        $cli = new self();
        try {
            return $cli->run(array_slice($argv, 1));
        } catch (UsageError $e) {
            fwrite(STDERR, 'asyncbatch: ' . $e->getMessage() . "\nRun 'asyncbatch help' for usage.\n");
            return 2;
        } catch (\Throwable $e) {
            fwrite(STDERR, 'asyncbatch: ' . $e->getMessage() . "\n");
            return 1;
        }
    }

    /** @param list<string> $argv */
    private function run(array $argv): int
    {
        $command = null;
        $polyfill = false;
        $rest = [];
        for ($i = 0; $i < count($argv); $i++) {
            $a = $argv[$i];
            if ($a === '--polyfill') {
                $polyfill = true;
            } elseif ($a === '-h' || $a === '--help') {
                $command = 'help';
            } elseif ($a === '--failure-dir' || str_starts_with($a, '--failure-dir=')) {
                $this->opts['failure-dir'] = $this->value($argv, $i, 'failure-dir');
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
        $this->parse($command, $rest);
        if ($command === 'help') {
            echo self::USAGE;
            return 0;
        }

        if (!extension_loaded('asyncbatch')) {
            if (!$polyfill) {
                throw new \RuntimeException(
                    "the asyncbatch extension is not loaded.\n"
                    . "Load it with 'php -d extension=asyncbatch.so " . ($_SERVER['argv'][0] ?? 'asyncbatch') . " ...'"
                    . " or the php.ini line 'extension=asyncbatch.so',\n"
                    . 'or add --polyfill to run this command with the pure-PHP implementation instead.',
                );
            }
            // bin/asyncbatch has loaded autoload.php: AsyncBatchRunner is the polyfill's.
        }

        $this->failureDir = Settings::get()->failureDir;
        if (isset($this->opts['failure-dir'])) {
            $this->failureDir = rtrim((string) $this->opts['failure-dir'], '/') ?: '/';
            // Both implementations read their directories from this setting.
            @ini_set('asyncbatch.failure_dir', $this->failureDir);
            $settings = clone Settings::get();
            $settings->failureDir = $this->failureDir;
            Settings::override($settings);
        }

        return match ($command) {
            'failed:list' => $this->list(),
            'failed:show' => $this->show(),
            'failed:retry' => $this->retry(),
            'failed:purge' => $this->purge(),
        };
    }

    /** @param list<string> $argv */
    private function parse(string $command, array $argv): void
    {
        $known = self::OPTIONS[$command];
        for ($i = 0; $i < count($argv); $i++) {
            $a = $argv[$i];
            if (!str_starts_with($a, '--') || $a === '--') {
                $this->args[] = $a;
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
                $this->opts[$name] = $this->value($argv, $i, $name);
            } elseif ($eq !== false) {
                throw new UsageError(sprintf("option '--%s' takes no value", $name));
            } else {
                $this->opts[$name] = true;
            }
        }
        $wanted = $command === 'failed:show' ? 1 : 0;
        if (count($this->args) !== $wanted) {
            throw new UsageError($wanted === 1
                ? 'failed:show needs one NAME or PATH of a failure file'
                : sprintf("unexpected argument '%s' for %s", $this->args[0], $command));
        }
    }

    /** @param list<string> $argv */
    private function value(array $argv, int &$i, string $name): string
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

    private function list(): int
    {
        $job = $this->opts['job'] ?? null;
        $rows = [];
        foreach ($this->files() as [$name, $body, $error]) {
            if ($job !== null && !self::isOf($name, $body, (string) $job)) {
                continue;
            }
            $rows[] = [$name, $body, $error];
        }

        if (isset($this->opts['json'])) {
            $out = [];
            foreach ($rows as [$name, $body, $error]) {
                $path = $this->failureDir . '/' . $name;
                $out[] = $body === null
                    ? ['name' => $name, 'path' => $path, 'corrupt' => true, 'error' => $error]
                    : [
                        'name' => $name,
                        'path' => $path,
                        'corrupt' => false,
                        'job' => $body['job'],
                        'items' => count($body['items']),
                        'attempts' => $body['attempts'],
                        'firstAttemptAt' => (float) $body['firstAttemptAt'],
                        'failedAt' => (float) $body['failedAt'],
                        'lastError' => $body['lastError'],
                        'pid' => $body['pid'],
                        'host' => $body['host'],
                    ];
            }
            echo json_encode($out, self::JSON), "\n";
            return 0;
        }

        $table = [['NAME', 'JOB', 'ITEMS', 'ATTEMPTS', 'FAILED AT', 'LAST ERROR']];
        $items = 0;
        $corrupt = 0;
        foreach ($rows as [$name, $body, $error]) {
            if ($body === null) {
                $corrupt++;
                $table[] = [$name, '(corrupt: ' . $error . ')'];
                continue;
            }
            $items += count($body['items']);
            $table[] = [
                $name,
                self::printable($body['job']),
                (string) count($body['items']),
                (string) $body['attempts'],
                self::iso((float) $body['failedAt']),
                self::cut(self::printable($body['lastError']), 60),
            ];
        }
        if (count($table) > 1) {
            $widths = [];
            foreach ($table as $row) {
                if (count($row) < 3) {
                    continue;
                }
                foreach ($row as $i => $cell) {
                    $widths[$i] = max($widths[$i] ?? 0, self::width($cell));
                }
            }
            foreach ($table as $row) {
                $line = '';
                foreach ($row as $i => $cell) {
                    $last = $i === count($row) - 1;
                    $pad = max(1, ($widths[$i] ?? 0) - self::width($cell) + 2);
                    $line .= $last ? $cell : $cell . str_repeat(' ', $pad);
                }
                echo rtrim($line), "\n";
            }
        }
        printf(
            "%d failed %s, %d %s%s in %s\n",
            count($rows),
            count($rows) === 1 ? 'batch' : 'batches',
            $items,
            $items === 1 ? 'item' : 'items',
            $corrupt > 0 ? sprintf(' (%d corrupt %s)', $corrupt, $corrupt === 1 ? 'file' : 'files') : '',
            $this->failureDir,
        );
        return 0;
    }

    private function show(): int
    {
        $arg = $this->args[0];
        $path = str_contains($arg, '/') ? $arg : $this->failureDir . '/' . $arg;
        if (!is_file($path) || is_link($path)) {
            throw new \RuntimeException(sprintf('no failure file %s', $path));
        }
        $bytes = @file_get_contents($path);
        if ($bytes === false) {
            throw new \RuntimeException(sprintf('cannot read %s', $path));
        }
        try {
            $body = FailureStore::decode($bytes);
        } catch (\UnexpectedValueException $e) {
            throw new \RuntimeException(sprintf('corrupt failure file %s: %s', $path, $e->getMessage()));
        }
        echo json_encode(['file' => $path, 'format' => FailureStore::VERSION] + $body, self::JSON), "\n";
        return 0;
    }

    private function retry(): int
    {
        $bootstrap = $this->opts['bootstrap'] ?? null;
        if (!is_string($bootstrap)) {
            throw new UsageError(
                'failed:retry needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()',
            );
        }
        if (!is_file($bootstrap)) {
            throw new \RuntimeException(sprintf('bootstrap file %s not found', $bootstrap));
        }
        (static function (string $file): void {
            require $file;
        })($bootstrap);
        $job = isset($this->opts['job']) ? (string) $this->opts['job'] : null;
        $delivered = \AsyncBatchRunner::retryFailed($job);
        $left = 0;
        foreach ($this->files() as [$name, $body]) {
            if ($job === null || self::isOf($name, $body, $job)) {
                $left++;
            }
        }
        printf(
            "Delivered %d %s; %d failed %s still stored in %s\n",
            $delivered,
            $delivered === 1 ? 'item' : 'items',
            $left,
            $left === 1 ? 'batch' : 'batches',
            $this->failureDir,
        );
        return 0;
    }

    private function purge(): int
    {
        $job = $this->opts['job'] ?? null;
        $all = isset($this->opts['all']);
        if (($job === null) === !$all) {
            throw new UsageError('failed:purge needs either --job ID or --all');
        }
        $before = null;
        if (isset($this->opts['older-than'])) {
            $s = (string) $this->opts['older-than'];
            if (!is_numeric($s) || (float) $s < 0) {
                throw new UsageError(sprintf("--older-than needs a number of seconds, got '%s'", $s));
            }
            $before = microtime(true) - (float) $s;
        }
        $purged = 0;
        foreach ($this->files() as [$name, $body]) {
            if (!$all && ($body === null || $body['job'] !== $job)) {
                continue;
            }
            $path = $this->failureDir . '/' . $name;
            if ($before !== null) {
                $at = $body !== null ? (float) $body['failedAt'] : (float) @filemtime($path);
                if ($at > $before) {
                    continue;
                }
            }
            $fh = Fs::claim($path);
            if ($fh === null) {
                continue;
            }
            if (@unlink($path)) {
                $purged++;
            }
            fclose($fh);
        }
        printf("Purged %d failed %s from %s\n", $purged, $purged === 1 ? 'batch' : 'batches', $this->failureDir);
        return 0;
    }

    /**
     * Every `.fail` file, oldest first, read: [name, body or null, why it is corrupt].
     *
     * @return list<array{0: string, 1: ?array, 2: ?string}>
     */
    private function files(): array
    {
        $store = new FailureStore($this->failureDir, PHP_INT_MAX);
        $out = [];
        foreach ($store->names() as $name) {
            $bytes = @file_get_contents($this->failureDir . '/' . $name);
            if ($bytes === false) {
                continue;
            }
            try {
                $out[] = [$name, FailureStore::decode($bytes), null];
            } catch (\UnexpectedValueException $e) {
                $out[] = [$name, null, $e->getMessage()];
            }
        }
        return $out;
    }

    /** Whether a failure file is one of $job's (a corrupt one by the job key in its name). */
    private static function isOf(string $name, ?array $body, string $job): bool
    {
        return $body === null ? Fs::keyOf($name) === Fs::jobKey($job) : $body['job'] === $job;
    }

    private static function iso(float $t): string
    {
        return date('Y-m-d\TH:i:sP', (int) $t);
    }

    /** A string fit for one line of a terminal: controls escaped, bad UTF-8 replaced. */
    private static function printable(string $s): string
    {
        $s = (string) preg_replace_callback(
            '/[\x00-\x1f\x7f]/',
            static fn (array $m): string => sprintf('\x%02X', ord($m[0])),
            $s,
        );
        return preg_match('//u', $s) === 1 ? $s : self::scrub($s);
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

    private static function cut(string $s, int $max): string
    {
        if (preg_match_all('/./us', $s, $m) <= $max) {
            return $s;
        }
        return implode('', array_slice($m[0], 0, $max - 3)) . '...';
    }
}
