<?php

declare(strict_types=1);

namespace AsyncBatch\Internal\Cli;

use AsyncBatch\Internal\FailureStore;
use AsyncBatch\Internal\Fs;
use AsyncBatch\Internal\UsageError;

/**
 * `failed:list`, `failed:show`, `failed:retry` and `failed:purge`: the failure
 * store, read with the PHP reader of its format; `failed:retry` replays through
 * the API (the extension's, or the polyfill's with `--polyfill`).
 */
final class FailedCommands
{
    private function __construct(private readonly Arguments $args, private readonly string $dir)
    {
    }

    /** Runs one of the commands; returns the exit status. */
    public static function run(Arguments $args): int
    {
        Extension::requireApi($args->polyfill);
        $commands = new self($args, FailureDir::of($args));
        return match ($args->command) {
            'failed:list' => $commands->list(),
            'failed:show' => $commands->show(),
            'failed:retry' => $commands->retry(),
            'failed:purge' => $commands->purge(),
        };
    }

    private function list(): int
    {
        $job = $this->args->value('job');
        $rows = [];
        foreach ($this->files() as [$name, $body, $error]) {
            if ($job === null || self::isOf($name, $body, $job)) {
                $rows[] = [$name, $body, $error];
            }
        }

        if ($this->args->has('json')) {
            $out = [];
            foreach ($rows as [$name, $body, $error]) {
                $path = $this->dir . '/' . $name;
                $out[] = $body === null
                    ? ['name' => $name, 'path' => $path, 'corrupt' => true, 'error' => $error]
                    : [
                        'name' => $name,
                        'path' => $path,
                        'corrupt' => false,
                        'job' => $body['job'],
                        'batchId' => $body['batchId'],
                        'items' => count($body['items']),
                        'attempts' => $body['attempts'],
                        'firstAttemptAt' => (float) $body['firstAttemptAt'],
                        'failedAt' => (float) $body['failedAt'],
                        'lastError' => $body['lastError'],
                        'pid' => $body['pid'],
                        'host' => $body['host'],
                    ];
            }
            echo Format::json($out);
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
                Format::printable($body['job']),
                (string) count($body['items']),
                (string) $body['attempts'],
                Format::iso((float) $body['failedAt']),
                Format::cut(Format::printable($body['lastError']), 60),
            ];
        }
        if (count($table) > 1) {
            echo Format::table($table);
        }
        printf(
            "%s, %s%s in %s\n",
            Format::count(count($rows), 'failed batch', 'failed batches'),
            Format::count($items, 'item', 'items'),
            $corrupt > 0 ? ' (' . Format::count($corrupt, 'corrupt file', 'corrupt files') . ')' : '',
            $this->dir,
        );
        return 0;
    }

    private function show(): int
    {
        $arg = $this->args->args[0];
        $path = str_contains($arg, '/') ? $arg : $this->dir . '/' . $arg;
        if (!is_file($path) || is_link($path)) {
            throw new \RuntimeException(sprintf('no failure file %s', $path));
        }
        $bytes = @file_get_contents($path);
        if ($bytes === false) {
            throw new \RuntimeException(sprintf('cannot read %s', $path));
        }
        try {
            $body = FailureStore::decode($bytes, $version);
        } catch (\UnexpectedValueException $e) {
            throw new \RuntimeException(sprintf('corrupt failure file %s: %s', $path, $e->getMessage()));
        }
        // The body in its order, with the batch id after the job (null in a version 1 file).
        $shown = ['file' => $path, 'format' => $version];
        foreach ($body as $key => $value) {
            if ($key !== 'batchId') {
                $shown[$key] = $value;
            }
            if ($key === 'job') {
                $shown['batchId'] = $body['batchId'];
            }
        }
        echo Format::json($shown);
        return 0;
    }

    private function retry(): int
    {
        $bootstrap = Bootstrap::existing(Bootstrap::option($this->args));
        Bootstrap::load($bootstrap);
        $job = $this->args->value('job');
        $delivered = \AsyncBatchRunner::retryFailed($job);
        $left = 0;
        foreach ($this->files() as [$name, $body]) {
            if ($job === null || self::isOf($name, $body, $job)) {
                $left++;
            }
        }
        printf(
            "Delivered %s; %s still stored in %s\n",
            Format::count($delivered, 'item', 'items'),
            Format::count($left, 'failed batch', 'failed batches'),
            $this->dir,
        );
        return 0;
    }

    private function purge(): int
    {
        $job = $this->args->value('job');
        $all = $this->args->has('all');
        if (($job === null) === !$all) {
            throw new UsageError('failed:purge needs either --job ID or --all');
        }
        $before = null;
        $olderThan = $this->args->value('older-than');
        if ($olderThan !== null) {
            if (!is_numeric($olderThan) || (float) $olderThan < 0) {
                throw new UsageError(sprintf("--older-than needs a number of seconds, got '%s'", $olderThan));
            }
            $before = microtime(true) - (float) $olderThan;
        }
        $purged = 0;
        foreach ($this->files() as [$name, $body]) {
            if (!$all && ($body === null || $body['job'] !== $job)) {
                continue;
            }
            $path = $this->dir . '/' . $name;
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
        printf("Purged %s from %s\n", Format::count($purged, 'failed batch', 'failed batches'), $this->dir);
        return 0;
    }

    /**
     * Every `.fail` file, oldest first, read: [name, body or null, why it is corrupt].
     *
     * @return list<array{0: string, 1: ?array, 2: ?string}>
     */
    private function files(): array
    {
        $store = new FailureStore($this->dir, PHP_INT_MAX);
        $out = [];
        foreach ($store->names() as $name) {
            // Never read through a link, as show, retry and purge do not.
            $path = $this->dir . '/' . $name;
            $bytes = is_link($path) ? false : @file_get_contents($path);
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
}
