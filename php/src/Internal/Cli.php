<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * The `asyncbatch` command: list, show, retry and purge the failure store; run the
 * daemon, drain once, show the daemon's status. Reading files uses the PHP readers of
 * the shared formats, with or without the extension; `failed:retry` calls the API (the
 * extension's, or the polyfill's with `--polyfill`); `daemon` and `drain` need the
 * extension (`AsyncBatch\Internal\Daemon`); `status` needs neither.
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
          daemon --bootstrap FILE [--workers N] [--stop-timeout S] [--log FILE]
                                                      run the daemon: N workers (default 2)
                                                      deliver what PHP processes hand off;
                                                      SIGTERM stops it within S seconds
                                                      (default 10); errors go to FILE
          drain --bootstrap FILE                      deliver everything queued and spooled
                                                      for the bootstrap's jobs, then exit
                                                      (one drain at a time)
          status [--json]                             the daemon's counters, queue depth and
                                                      spool size; exit 1 when it is not running
          help                                        show this help

        Options:
          --failure-dir DIR   failure store directory (default: ini asyncbatch.failure_dir)
          --polyfill          run with the pure-PHP implementation when the asyncbatch
                              extension is not loaded (not for daemon and drain)

        Exit status: 0 done, 1 error, 2 bad usage.

        TXT;

    /** Options each command takes; true for those with a value. */
    private const OPTIONS = [
        'failed:list' => ['job' => true, 'json' => false],
        'failed:show' => [],
        'failed:retry' => ['bootstrap' => true, 'job' => true],
        'failed:purge' => ['job' => true, 'all' => false, 'older-than' => true],
        'daemon' => ['bootstrap' => true, 'workers' => true, 'stop-timeout' => true, 'log' => true],
        'drain' => ['bootstrap' => true],
        'status' => ['json' => false],
        'help' => [],
    ];

    /** Commands that run the extension's daemon code: the polyfill has none. */
    private const NEEDS_DAEMON = ['daemon', 'drain'];

    /** A daemon is alive when its status was rewritten this recently (seconds). */
    private const HEARTBEAT_MAX_AGE = 5.0;

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
        if ($command === 'status') {
            // The status file and /proc: no extension needed.
            return $this->status();
        }
        if (in_array($command, self::NEEDS_DAEMON, true)) {
            return $this->daemonCommand($command);
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
     * `daemon` and `drain`: checks the options and that the extension has the daemon,
     * then runs it.
     */
    private function daemonCommand(string $command): int
    {
        $bootstrap = $this->opts['bootstrap'] ?? null;
        if (!is_string($bootstrap)) {
            throw new UsageError(sprintf(
                '%s needs --bootstrap FILE, the file that registers the jobs with registerAsyncJob()',
                $command,
            ));
        }
        $options = ['bootstrap' => $bootstrap];
        if ($command === 'daemon') {
            $options += self::daemonOptions($this->opts);
            $options['log'] = null;
            if (isset($this->opts['log'])) {
                $log = (string) $this->opts['log'];
                if ($log === '') {
                    throw new UsageError("option '--log' needs a file name");
                }
                if ($log[0] !== '/' && ($cwd = getcwd()) !== false) {
                    $log = $cwd . '/' . $log; // the same file whatever directory a process runs in
                }
                $options['log'] = $log;
            }
        }

        if (!extension_loaded('asyncbatch')) {
            throw new \RuntimeException(
                "$command needs the asyncbatch extension (the pure-PHP polyfill has no daemon runner, "
                . "so --polyfill does not apply).\n"
                . "Load it with 'php -d extension=asyncbatch.so " . ($_SERVER['argv'][0] ?? 'asyncbatch')
                . " $command ...' or the php.ini line 'extension=asyncbatch.so'.",
            );
        }
        if (!class_exists(Daemon::class, false)) {
            throw new \RuntimeException(sprintf(
                'this build of the asyncbatch extension (%s) has no daemon runner: %s is missing',
                phpversion('asyncbatch') ?: 'unknown version',
                Daemon::class,
            ));
        }
        if (!is_file($bootstrap)) {
            throw new \RuntimeException(sprintf('bootstrap file %s not found', $bootstrap));
        }
        $bootstrap = (string) realpath($bootstrap);
        $options['bootstrap'] = $bootstrap;

        if ($command === 'drain') {
            return $this->drain($bootstrap);
        }

        if ($options['log'] !== null) {
            $fh = @fopen($options['log'], 'ab');
            if ($fh === false) {
                throw new \RuntimeException(sprintf(
                    'cannot write to the log file %s: %s',
                    $options['log'],
                    Fs::why(error_get_last()['message'] ?? 'unknown error'),
                ));
            }
            fclose($fh);
            // Every process of the daemon logs there: errors, warnings, error_log().
            ini_set('error_log', $options['log']);
            ini_set('log_errors', '1');
        }

        $r = Daemon::supervise($options);
        if (($r['role'] ?? null) !== 'worker') {
            return (int) ($r['exitCode'] ?? 1);
        }
        // A new worker process: load the application's jobs, then deliver.
        self::loadBootstrap($bootstrap);
        return Daemon::work();
    }

    /**
     * `--workers` and `--stop-timeout` as typed (only those given), checked where
     * they are declared: by the extension (core), or without it by the PHP copy of
     * that declaration.
     *
     * @param array<string, string|true> $opts
     * @return array{workers?: string, stopTimeout?: string}
     */
    private static function daemonOptions(array $opts): array
    {
        $options = [];
        foreach (['workers' => 'workers', 'stopTimeout' => 'stop-timeout'] as $key => $name) {
            if (isset($opts[$name])) {
                $options[$key] = (string) $opts[$name];
            }
        }
        try {
            if (class_exists(Daemon::class, false)) {
                Daemon::parseOptions($options);
            } else {
                DaemonOptions::parse($options);
            }
        } catch (\ValueError $e) {
            throw new UsageError($e->getMessage());
        }
        return $options;
    }

    /** `drain`: one process at a time, under `{spool_dir}/drain.lock`. */
    private function drain(string $bootstrap): int
    {
        $pid = Daemon::lock('drain');
        if ($pid !== null) {
            fwrite(STDERR, sprintf("asyncbatch: another drain is running (pid %d)\n", $pid));
            return 0;
        }
        self::loadBootstrap($bootstrap);
        return Daemon::drain();
    }

    /**
     * Requires the application's bootstrap file in a scope of its own. A throw
     * becomes an error naming the file (exit status 1).
     */
    private static function loadBootstrap(string $file): void
    {
        try {
            (static function (string $file): void {
                require $file;
            })($file);
        } catch (\Throwable $e) {
            $message = sprintf(
                'the bootstrap file %s threw %s: %s (in %s:%d)',
                $file,
                get_class($e),
                $e->getMessage(),
                $e->getFile(),
                $e->getLine(),
            );
            throw new \RuntimeException($message, 0, $e);
        }
    }

    /** `status`: what the daemon last wrote, or why it is not running; exit 1 then. */
    private function status(): int
    {
        $settings = Settings::get();
        $spoolDir = $settings->spoolDir;
        $file = $spoolDir . '/daemon.status';
        $now = microtime(true);

        $status = null;
        $problem = null;
        $bytes = is_file($file) && !is_link($file) ? @file_get_contents($file) : false;
        if ($bytes === false) {
            $problem = sprintf('no status file %s', $file);
        } else {
            $decoded = json_decode($bytes, true);
            if (!is_array($decoded) || !is_int($decoded['pid'] ?? null)) {
                $problem = sprintf('unreadable status file %s', $file);
            } else {
                $status = $decoded;
            }
        }
        if ($status !== null) {
            $age = $now - (float) ($status['heartbeatAt'] ?? 0);
            if (!self::alive($status['pid'])) {
                $problem = sprintf('pid %d is not running', $status['pid']);
            } elseif ($age >= self::HEARTBEAT_MAX_AGE) {
                $problem = sprintf('pid %d has not written its status for %s', $status['pid'], self::duration($age));
            }
        }
        $alive = $problem === null;
        $queue = $this->queueNow();
        $spool = self::spoolNow($spoolDir);
        if (!$alive) {
            // What the status says of them is old: measure.
            $status = ['queue' => $queue, 'spool' => $spool] + ($status ?? []);
            $status['queue'] = $queue;
            $status['spool'] = $spool;
        }

        if (isset($this->opts['json'])) {
            // Decoded again as objects, so that an empty map stays `{}`.
            $raw = $bytes !== false ? json_decode($bytes) : null;
            $fields = $raw instanceof \stdClass ? get_object_vars($raw) : [];
            if (!$alive) {
                $fields = ['queue' => $queue, 'spool' => $spool] + $fields;
                $fields['queue'] = $queue;
                $fields['spool'] = $spool;
            }
            $out = ['running' => $alive] + ($alive ? [] : ['reason' => $problem]) + $fields;
            echo json_encode((object) $out, self::JSON), "\n";
            return $alive ? 0 : 1;
        }

        if (!$alive) {
            printf("asyncbatch daemon: not running (%s)\n", $problem);
        } else {
            $started = (float) ($status['startedAt'] ?? $now);
            printf(
                "asyncbatch daemon: running, pid %d, up %s (since %s)\n",
                $status['pid'],
                self::duration($now - $started),
                self::iso($started),
            );
            printf("  bootstrap: %s\n", self::printable((string) ($status['bootstrap'] ?? '?')));
            $workers = [];
            foreach (($status['workers'] ?? []) as $w) {
                $n = (int) ($w['restarts'] ?? 0);
                $workers[] = sprintf(
                    '#%d pid %s (%d %s)',
                    (int) ($w['index'] ?? 0),
                    isset($w['pid']) ? (string) $w['pid'] : '-',
                    $n,
                    $n === 1 ? 'restart' : 'restarts',
                );
            }
            printf("  workers:   %s\n", $workers === [] ? 'none' : implode(', ', $workers));
        }
        $q = $status['queue'];
        $key = (string) ($q['key'] ?? '?');
        if (preg_match('/^0x([0-9a-f]{1,8})$/Di', $key, $m) === 1) {
            $key = sprintf('0x%08x', hexdec($m[1])); // as ipcs shows it
        }
        printf(
            "  queue:     %s, %d %s, %s\n",
            $key,
            (int) ($q['messages'] ?? 0),
            (int) ($q['messages'] ?? 0) === 1 ? 'message' : 'messages',
            self::bytes((int) ($q['bytes'] ?? 0)),
        );
        $sp = $status['spool'];
        printf(
            "  spool:     %s, %d %s, %s\n",
            $spoolDir,
            (int) ($sp['segments'] ?? 0),
            (int) ($sp['segments'] ?? 0) === 1 ? 'segment' : 'segments',
            self::bytes((int) ($sp['bytes'] ?? 0)),
        );
        if ($alive) {
            $jobs = is_array($status['jobs'] ?? null) ? $status['jobs'] : [];
            if ($jobs !== []) {
                $table = [['JOB', 'DELIVERED', 'BATCHES', 'FAILED', 'RETRIES', 'PERSISTED', 'DROPPED', 'LAST FLUSH', 'LAST ERROR']];
                foreach ($jobs as $id => $j) {
                    $table[] = [
                        self::printable((string) $id),
                        (string) (int) ($j['delivered'] ?? 0),
                        (string) (int) ($j['batches'] ?? 0),
                        (string) (int) ($j['failedBatches'] ?? 0),
                        (string) (int) ($j['retries'] ?? 0),
                        (string) (int) ($j['persisted'] ?? 0),
                        (string) (int) ($j['dropped'] ?? 0),
                        isset($j['lastFlushAt']) ? self::ago($now - (float) $j['lastFlushAt']) : '-',
                        isset($j['lastError']) ? self::cut(self::printable((string) $j['lastError']), 60) : '-',
                    ];
                }
                echo "\n";
                self::table($table, '  ');
                echo "\n";
            }
            foreach ((is_array($status['unknownJobs'] ?? null) ? $status['unknownJobs'] : []) as $id => $u) {
                $n = (int) ($u['segments'] ?? 0);
                printf(
                    "  unknown job '%s': %d %s left in the spool (no worker registers it)\n",
                    self::printable((string) $id),
                    $n,
                    $n === 1 ? 'segment' : 'segments',
                );
            }
            $foreign = (int) ($status['foreignMessages'] ?? 0);
            if ($foreign > 0) {
                printf("  foreign messages: %d (kept as foreign.*.msg in the spool directory)\n", $foreign);
            }
            printf(
                "  last error: %s\n",
                isset($status['lastError']) ? self::printable((string) $status['lastError']) : 'none',
            );
        }
        return $alive ? 0 : 1;
    }

    /** Whether process $pid exists (a zombie counts as gone). */
    private static function alive(int $pid): bool
    {
        if ($pid <= 0) {
            return false;
        }
        $stat = @file_get_contents("/proc/$pid/stat");
        if (is_string($stat)) {
            $close = strrpos($stat, ')');
            return $close === false || ($stat[$close + 2] ?? '') !== 'Z';
        }
        if (function_exists('posix_kill')) {
            return posix_kill($pid, 0) || posix_get_last_error() === 1; // EPERM: it exists
        }
        return false;
    }

    /**
     * The SysV queue of this configuration as /proc/sysvipc/msg shows it: key in hex,
     * messages and bytes on it (0 when it does not exist).
     *
     * @return array{key: string, messages: int, bytes: int}
     */
    private function queueNow(): array
    {
        $key = self::queueKey(Settings::get()->spoolDir);
        $out = ['key' => sprintf('0x%08x', $key), 'messages' => 0, 'bytes' => 0];
        $lines = @file('/proc/sysvipc/msg', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        if (!is_array($lines) || $lines === []) {
            return $out;
        }
        $head = preg_split('/\s+/', trim((string) array_shift($lines)));
        $col = array_flip($head);
        if (!isset($col['key'], $col['qnum'], $col['cbytes'])) {
            return $out;
        }
        foreach ($lines as $line) {
            $f = preg_split('/\s+/', trim($line));
            // The kernel prints the key as a signed int.
            if (((int) ($f[$col['key']] ?? 0) & 0xffffffff) === $key) {
                $out['messages'] = (int) $f[$col['qnum']];
                $out['bytes'] = (int) $f[$col['cbytes']];
                break;
            }
        }
        return $out;
    }

    /**
     * `asyncbatch.queue_key` (decimal or `0x` hex), or the key derived from the spool
     * directory: `crc32(spool_dir) & 0x7fffffff`, 1 when that is 0.
     */
    public static function queueKey(string $spoolDir): int
    {
        $v = get_cfg_var('asyncbatch.queue_key');
        $v = is_string($v) ? trim($v) : '';
        if (preg_match('/^0x[0-9a-f]{1,8}$/Di', $v) === 1) {
            return (int) hexdec(substr($v, 2));
        }
        if (preg_match('/^[0-9]{1,10}$/D', $v) === 1 && (int) $v <= 0xffffffff) {
            return (int) $v;
        }
        $key = crc32($spoolDir) & 0x7fffffff;
        return $key === 0 ? 1 : $key;
    }

    /**
     * Segments waiting in the spool directory (`.seg` and `.part`) and their bytes.
     *
     * @return array{segments: int, bytes: int}
     */
    private static function spoolNow(string $dir): array
    {
        $segments = 0;
        $bytes = 0;
        foreach ((is_dir($dir) ? (@scandir($dir) ?: []) : []) as $name) {
            if (str_ends_with($name, '.seg') || str_ends_with($name, '.part')) {
                $size = @filesize($dir . '/' . $name);
                if ($size !== false) {
                    $segments++;
                    $bytes += $size;
                }
            }
        }
        return ['segments' => $segments, 'bytes' => $bytes];
    }

    /**
     * Prints rows as columns; the first row is the header.
     *
     * @param list<list<string>> $rows
     */
    private static function table(array $rows, string $indent = ''): void
    {
        $widths = [];
        foreach ($rows as $row) {
            foreach ($row as $i => $cell) {
                $widths[$i] = max($widths[$i] ?? 0, self::width($cell));
            }
        }
        foreach ($rows as $row) {
            $line = $indent;
            foreach ($row as $i => $cell) {
                $line .= $i === count($row) - 1 ? $cell : $cell . str_repeat(' ', $widths[$i] - self::width($cell) + 2);
            }
            echo rtrim($line), "\n";
        }
    }

    /** `3h 02m 05s`, `2m 05s`, `5.2s`. */
    private static function duration(float $s): string
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

    private static function ago(float $s): string
    {
        return self::duration($s) . ' ago';
    }

    /** `512 B`, `20.0 KiB`, `3.4 MiB`. */
    private static function bytes(int $n): string
    {
        if ($n < 1024) {
            return $n . ' B';
        }
        if ($n < 1048576) {
            return sprintf('%.1f KiB', $n / 1024);
        }
        return sprintf('%.1f MiB', $n / 1048576);
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
            // Never read through a link, as show, retry and purge do not.
            $path = $this->failureDir . '/' . $name;
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
