<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

use AsyncBatch\InvalidConfigException;

/**
 * The options of an HttpSink with their defaults, and the one validation that turns
 * a URL and an options array into settings the sender can trust (see "The HTTP sink"
 * in docs/internals.md). The messages name the option as the contract words them.
 */
final class HttpSinkConfig
{
    /** The polyfill's version, sent in `User-Agent: asyncbatch/{version}`. */
    public const VERSION = '0.1.0';

    /** The options, in the order the message of an unknown one lists them. */
    public const OPTIONS = [
        'headers', 'format', 'timeout', 'gzip', 'caFile', 'clientCert', 'clientKey', 'proxy', 'resource',
        'idempotencyHeader', 'maxBatchBytes', 'batchSize', 'callPeriod', 'maxRetries', 'retryDelay', 'maxQueueSize',
    ];

    /** Smallest `maxBatchBytes`. */
    public const MIN_BATCH_BYTES = 1024;

    /** Headers the sender sets itself; the `headers` option may not. */
    private const RESERVED = ['content-length', 'content-encoding', 'transfer-encoding', 'host', 'connection'];

    /** The URL, as given. */
    public string $url;
    /** Host of the URL as it is written there (an IPv6 address keeps its brackets). */
    public string $host;
    /** Port of the URL, or the scheme's default (80, 443). */
    public int $port;
    /**
     * Headers of every request, name => value: Content-Type and User-Agent first
     * (replaced in place by the `headers` option, whatever its case), then the option's.
     *
     * @var array<string, string>
     */
    public array $headers;
    /** `json` (a JSON array of the items), `ndjson` (one JSON document a line) or `otlp` (an OTLP logs request). By default, `json`. */
    public string $format = 'json';
    /** Seconds allowed for connecting, for sending and for reading the response, each. By default, 5. */
    public float $timeout = 5.0;
    /** Whether the body is gzip-compressed. By default, false. */
    public bool $gzip = false;
    /** A PEM bundle trusted instead of the system's store (SSL_CERT_FILE, SSL_CERT_DIR, the distribution's bundle). */
    public ?string $caFile = null;
    /** The client certificate (chain) and its key, PEM, for mutual TLS: both or neither. */
    public ?string $clientCert = null;
    public ?string $clientKey = null;
    /**
     * The resource attributes of OTLP bodies (`service.name`...).
     *
     * @var array<string, string>
     */
    public array $resource = [];
    /**
     * The header that carries the batch id (or the piece id) on every POST; null when
     * none is sent (`false`, or a header of that name in the `headers` option, which
     * wins). By default, `Idempotency-Key`.
     */
    public ?string $idempotencyHeader = 'Idempotency-Key';
    /** Bytes an uncompressed body may have; the runner splits a batch over it. By default, 4 MiB. */
    public int $maxBatchBytes = 4194304;
    /** The `proxy` option (`http://host:port`), which wins over the environment's. */
    public ?string $proxy = null;
    /** The job config keys among the options, on the job defaults. */
    public JobConfig $job;

    /** The settings of a sink (for the runtime, which takes its job keys). */
    public static function of(\AsyncBatch\HttpSink $sink): self
    {
        return (fn (): HttpSinkConfig => $this->config)->call($sink);
    }

    /**
     * Validates the options in the order given; the first bad one is reported.
     *
     * @throws InvalidConfigException
     */
    public static function validate(string $url, array $options): self
    {
        $c = new self();
        $c->url = $url;
        [$c->host, $c->port] = self::checkUrl($url);
        $c->job = new JobConfig();
        $headers = null;
        foreach ($options as $key => $value) {
            switch ($key) {
                case 'headers':
                    $headers = self::checkHeaders($value);
                    break;
                case 'format':
                    if ($value !== 'json' && $value !== 'ndjson' && $value !== 'otlp') {
                        throw self::bad($key, "'json', 'ndjson' or 'otlp'", $value);
                    }
                    $c->format = $value;
                    break;
                case 'timeout':
                    if (!(is_int($value) || is_float($value)) || !is_finite((float) $value) || $value <= 0) {
                        throw self::bad($key, 'a number of seconds > 0', $value);
                    }
                    $c->timeout = (float) $value;
                    break;
                case 'gzip':
                    if (!is_bool($value)) {
                        throw self::bad($key, 'a bool', $value);
                    }
                    $c->gzip = $value;
                    break;
                case 'resource':
                    $c->resource = self::checkResource($value);
                    break;
                case 'idempotencyHeader':
                    if ($value !== false && !(is_string($value) && self::isHeaderName($value))) {
                        throw self::bad($key, 'a header name or false', $value);
                    }
                    $c->idempotencyHeader = $value === false ? null : $value;
                    break;
                case 'maxBatchBytes':
                    if (!is_int($value) || $value < self::MIN_BATCH_BYTES) {
                        throw self::bad($key, 'an int of bytes >= ' . self::MIN_BATCH_BYTES, $value);
                    }
                    $c->maxBatchBytes = $value;
                    break;
                case 'proxy':
                    $proxy = is_string($value) ? Proxy::normalize($value) : null;
                    if ($proxy === null) {
                        throw self::bad($key, Proxy::RULE, $value);
                    }
                    $c->proxy = $proxy;
                    break;
                case 'caFile':
                case 'clientCert':
                case 'clientKey':
                    if (!is_string($value) || $value === '' || str_contains($value, "\0")) {
                        throw self::bad($key, 'a path to a PEM file', $value);
                    }
                    $c->$key = $value;
                    break;
                default:
                    if (!in_array($key, JobConfig::KEYS, true)) {
                        throw new InvalidConfigException(sprintf(
                            "Unknown option '%s' for AsyncBatch\\HttpSink (known options: %s)",
                            $key,
                            implode(', ', self::OPTIONS),
                        ));
                    }
                    $c->job->set($key, $value, self::subject($key));
            }
        }
        if (($c->clientCert === null) !== ($c->clientKey === null)) {
            throw new InvalidConfigException(sprintf(
                "Options 'clientCert' and 'clientKey' of AsyncBatch\\HttpSink go together: '%s' is missing",
                $c->clientCert === null ? 'clientCert' : 'clientKey',
            ));
        }
        $c->headers = [
            'Content-Type' => $c->format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
            'User-Agent' => 'asyncbatch/' . self::VERSION,
        ];
        foreach ($headers ?? [] as $name => $value) {
            foreach (['Content-Type', 'User-Agent'] as $default) {
                if (strcasecmp($name, $default) === 0 && isset($c->headers[$default])) {
                    // Replaced where it stands, under the name as the option spells it.
                    $c->headers = self::renameKey($c->headers, $default, $name);
                }
            }
            $c->headers[$name] = $value;
        }
        foreach ($c->headers as $name => $_) {
            if ($c->idempotencyHeader !== null && strcasecmp($name, $c->idempotencyHeader) === 0) {
                // A header of that name is sent as it is (the `headers` option wins, as
                // it does over User-Agent), not the batch id.
                $c->idempotencyHeader = null;
            }
        }
        return $c;
    }

    /**
     * Checks that the TLS files can be used now, as the constructor does (they are
     * read again at each connection: a renewed certificate is taken up).
     *
     * @throws InvalidConfigException
     */
    public function checkFiles(): void
    {
        $certs = 'a readable PEM file of certificates';
        foreach (['caFile' => $certs, 'clientCert' => $certs, 'clientKey' => 'a readable PEM file with a private key'] as $key => $rule) {
            $path = $this->$key;
            $why = $path === null ? null : self::pemProblem($path, $key === 'clientKey');
            if ($why !== null) {
                throw new InvalidConfigException(sprintf('%s must be %s, got \'%s\' (%s)', self::subject($key), $rule, $path, $why));
            }
        }
    }

    /** Why a PEM file cannot be used, in the extension's words; null when it can. */
    private static function pemProblem(string $path, bool $key): ?string
    {
        if (!file_exists($path)) {
            return 'no such file';
        }
        $pem = is_file($path) ? @file_get_contents($path) : false;
        if ($pem === false) {
            return 'not readable';
        }
        // A whole block; an encrypted key cannot be used (there is no passphrase option).
        $block = $key ? '(?:RSA |EC )?PRIVATE KEY' : 'CERTIFICATE';
        if (!preg_match("/^-----BEGIN $block-----\\s+[A-Za-z0-9+\\/=\\s]+^-----END $block-----/m", $pem)) {
            return $key ? 'no private key in it' : 'no certificate in it';
        }
        return null;
    }

    /**
     * The host and port of an http:// or https:// URL with a host, no user info,
     * no fragment, no whitespace or control characters.
     *
     * @return array{0: string, 1: int}
     * @throws InvalidConfigException
     */
    private static function checkUrl(string $url): array
    {
        $parts = preg_match('/[\x00-\x20\x7f]/', $url) ? false : parse_url($url);
        $scheme = is_array($parts) ? strtolower($parts['scheme'] ?? '') : '';
        if (!is_array($parts) || ($scheme !== 'http' && $scheme !== 'https')
            || !preg_match('~^https?://~i', $url) || ($parts['host'] ?? '') === ''
            || isset($parts['user']) || isset($parts['pass']) || str_contains($url, '#')
            // A port, when written, is 1 to 65535 ("http://h:/" and port 0 are refused).
            || ($parts['port'] ?? null) === 0 || str_ends_with((string) strtok(substr($url, strlen($scheme) + 3), '/?'), ':')) {
            throw new InvalidConfigException(sprintf(
                "Invalid URL '%s' for AsyncBatch\\HttpSink: it must be an http:// or https:// URL with a host",
                self::redactedUrl(str_replace("\0", '\0', $url)),
            ));
        }
        return [$parts['host'], $parts['port'] ?? ($scheme === 'https' ? 443 : 80)];
    }

    /**
     * @return array<string, string>
     * @throws InvalidConfigException
     */
    private static function checkHeaders(mixed $value): array
    {
        if (!is_array($value)) {
            throw self::bad('headers', 'an array of header names to string values', $value);
        }
        foreach ($value as $name => $v) {
            if (!is_string($name) || !self::isHeaderName($name)
                || !is_string($v) || strpbrk($v, "\r\n\0") !== false) {
                // {got} names the bad header: "header 'X-A'", "header 0".
                throw new InvalidConfigException(sprintf(
                    '%s must be an array of header names to string values, got header %s',
                    self::subject('headers'),
                    is_int($name) ? $name : "'$name'",
                ));
            }
        }
        return $value;
    }

    /**
     * @return array<string, string>
     * @throws InvalidConfigException
     */
    private static function checkResource(mixed $value): array
    {
        $rule = 'an array of attribute names to string values';
        if (!is_array($value)) {
            throw self::bad('resource', $rule, $value);
        }
        foreach ($value as $name => $v) {
            if (!is_string($name) || $name === '' || !is_string($v)) {
                throw new InvalidConfigException(sprintf(
                    '%s must be %s, got attribute %s',
                    self::subject('resource'),
                    $rule,
                    is_int($name) ? $name : "'$name'",
                ));
            }
        }
        return $value;
    }

    /** An RFC 7230 token that is not one of the headers the sender sets itself. */
    private static function isHeaderName(string $name): bool
    {
        return preg_match('/^[!#$%&\'*+\-.^_`|~0-9A-Za-z]+$/D', $name) === 1
            && !in_array(strtolower($name), self::RESERVED, true);
    }

    private static function subject(string $key): string
    {
        return sprintf("Option '%s' of AsyncBatch\\HttpSink", $key);
    }

    private static function bad(string $key, string $rule, mixed $value): InvalidConfigException
    {
        return new InvalidConfigException(
            sprintf('%s must be %s, got %s', self::subject($key), $rule, JobConfig::got($value)),
        );
    }

    /**
     * @param array<string, string> $a
     * @return array<string, string>
     */
    private static function renameKey(array $a, string $from, string $to): array
    {
        $out = [];
        foreach ($a as $k => $v) {
            $out[$k === $from ? $to : $k] = $v;
        }
        return $out;
    }

    /** A URL as messages show it: user info and query values (where credentials and tokens go) as `***`. */
    public static function redactedUrl(string $url): string
    {
        $fragment = false;
        if (($hash = strpos($url, '#')) !== false) {
            [$url, $fragment] = [substr($url, 0, $hash), true];
        }
        $query = null;
        $head = $url;
        if (($q = strpos($url, '?')) !== false) {
            [$head, $query] = [substr($url, 0, $q), substr($url, $q + 1)];
        }
        $schemeEnd = ($p = strpos($head, '://')) === false ? 0 : $p + 3;
        $slash = strpos($head, '/', $schemeEnd);
        $authority = substr($head, $schemeEnd, ($slash === false ? strlen($head) : $slash) - $schemeEnd);
        $at = strrpos($authority, '@');
        $out = $at === false ? $head : substr($head, 0, $schemeEnd) . '***' . substr($head, $schemeEnd + $at);
        if ($query !== null) {
            $parts = array_map(
                static fn (string $part): string => str_contains($part, '=')
                    ? strstr($part, '=', true) . '=***'
                    : ($part === '' ? '' : '***'),
                explode('&', $query),
            );
            $out .= '?' . implode('&', $parts);
        }
        return $fragment ? "$out#***" : $out;
    }
}
