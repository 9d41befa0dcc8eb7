<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * One POST of a batch for an HttpSink: the body exactly as docs/internals.md says
 * ("The request"), sent with curl when the extension is loaded, else with PHP's
 * http:// stream wrapper, and what came back.
 */
final class HttpPost
{
    /**
     * The JSON flags of the body: slashes and Unicode unescaped, 1.0 kept a float,
     * invalid UTF-8 replaced by U+FFFD, NAN and INF written as 0.
     */
    public const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
        | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR;
    public const JSON_DEPTH = 1024;
    /** Bytes of a response body quoted in the error message. */
    public const EXCERPT = 256;
    /** Longest wait a Retry-After header can ask for, in seconds. */
    public const MAX_RETRY_AFTER = 300.0;

    /**
     * Reason phrases of the status codes that have one (those of the Rust `http`
     * crate, so that both implementations word lastError the same, whatever phrase
     * the server sent); a status not listed is given none: `HTTP 499: ...`.
     */
    private const REASONS = [
        100 => 'Continue', 101 => 'Switching Protocols', 102 => 'Processing', 103 => 'Early Hints',
        200 => 'OK', 201 => 'Created', 202 => 'Accepted', 203 => 'Non Authoritative Information',
        204 => 'No Content', 205 => 'Reset Content', 206 => 'Partial Content', 207 => 'Multi-Status',
        208 => 'Already Reported', 226 => 'IM Used', 300 => 'Multiple Choices', 301 => 'Moved Permanently',
        302 => 'Found', 303 => 'See Other', 304 => 'Not Modified', 305 => 'Use Proxy',
        307 => 'Temporary Redirect', 308 => 'Permanent Redirect', 400 => 'Bad Request',
        401 => 'Unauthorized', 402 => 'Payment Required', 403 => 'Forbidden', 404 => 'Not Found',
        405 => 'Method Not Allowed', 406 => 'Not Acceptable', 407 => 'Proxy Authentication Required',
        408 => 'Request Timeout', 409 => 'Conflict', 410 => 'Gone', 411 => 'Length Required',
        412 => 'Precondition Failed', 413 => 'Payload Too Large', 414 => 'URI Too Long',
        415 => 'Unsupported Media Type', 416 => 'Range Not Satisfiable', 417 => 'Expectation Failed',
        418 => "I'm a teapot", 421 => 'Misdirected Request', 422 => 'Unprocessable Entity', 423 => 'Locked',
        424 => 'Failed Dependency', 425 => 'Too Early', 426 => 'Upgrade Required',
        428 => 'Precondition Required', 429 => 'Too Many Requests', 431 => 'Request Header Fields Too Large',
        451 => 'Unavailable For Legal Reasons', 500 => 'Internal Server Error', 501 => 'Not Implemented',
        502 => 'Bad Gateway', 503 => 'Service Unavailable', 504 => 'Gateway Timeout',
        505 => 'HTTP Version Not Supported', 506 => 'Variant Also Negotiates', 507 => 'Insufficient Storage',
        508 => 'Loop Detected', 510 => 'Not Extended', 511 => 'Network Authentication Required',
    ];

    /**
     * How requests are sent: `curl` or `streams`; null picks curl when the curl
     * extension is loaded. The tests set it to compare the two.
     */
    public static ?string $transport = null;

    /** The counters of the sink job being delivered, while the runtime calls its sink. */
    public static ?HttpStats $stats = null;

    /** Status of the response, null when there was none (connection error, timeout). */
    public ?int $status = null;
    /** Reason phrase of the status (see REASONS). */
    public string $reason = '';
    /** The first bytes of the response body. */
    public string $excerpt = '';
    /** Raw Retry-After header value, if any. */
    public ?string $retryAfterHeader = null;
    /** Why no response came: `connection to h:p failed: ...` or `timeout after Ns`. */
    public ?string $error = null;
    /** Bytes of the request body as sent. */
    public int $bytes = 0;

    /** @var array{0: HttpSinkConfig, 1: list<mixed>, 2: string}|null the last body made, and for what */
    private static ?array $last = null;

    /**
     * The request body for $items before compression (what maxBatchBytes counts): a
     * JSON array, one JSON document per item each followed by a line feed, or an
     * OTLP logs request.
     *
     * @param list<mixed> $items
     */
    public static function body(HttpSinkConfig $c, array $items): string
    {
        // The runner asks for a batch's body to check it against maxBatchBytes, then
        // posts it: the second time is the same batch.
        if (self::$last !== null && self::$last[0] === $c && self::$last[1] === $items) {
            return self::$last[2];
        }
        // Floats as PHP prints them by default (shortest round-trip), whatever the ini says
        // (set only when it says something else).
        $precision = ini_get('serialize_precision');
        $set = $precision !== '-1';
        if ($set) {
            ini_set('serialize_precision', '-1');
        }
        try {
            if ($c->format === 'json') {
                $body = (string) json_encode($items, self::JSON_FLAGS, self::JSON_DEPTH);
            } elseif ($c->format === 'otlp') {
                // Each level of an item is three in its AnyValue.
                $body = (string) json_encode(Otlp::request($items, $c->resource), self::JSON_FLAGS, 4 * self::JSON_DEPTH);
            } else {
                $body = '';
                foreach ($items as $item) {
                    $body .= json_encode($item, self::JSON_FLAGS, self::JSON_DEPTH) . "\n";
                }
            }
        } finally {
            if ($set) {
                ini_set('serialize_precision', (string) $precision);
            }
        }
        self::$last = [$c, $items, $body];
        return $body;
    }

    /**
     * Posts a body (from body(), compressed here when the sink says so) once, with
     * the batch id in the sink's idempotency header. $curl is the handle of the sink,
     * reused so that its connection is kept alive between batches.
     */
    public static function send(HttpSinkConfig $c, string $body, string $batchId, ?\CurlHandle &$curl): self
    {
        if ($c->gzip) {
            $body = (string) gzencode($body);
        }
        $headers = [];
        foreach ($c->headers as $name => $value) {
            $headers[] = $name . ': ' . $value;
        }
        if ($c->idempotencyHeader !== null) {
            $headers[] = $c->idempotencyHeader . ': ' . $batchId;
        }
        if ($c->gzip) {
            $headers[] = 'Content-Encoding: gzip';
        }
        $useCurl = (self::$transport ?? (extension_loaded('curl') ? 'curl' : 'streams')) === 'curl';
        $r = $useCurl ? self::viaCurl($c, $body, $headers, $curl) : self::viaStreams($c, $body, $headers);
        $r->bytes = strlen($body);
        self::$stats?->request($r->status, $r->bytes);
        return $r;
    }

    /** Whether the server accepted the batch (2xx). */
    public function ok(): bool
    {
        return $this->status !== null && $this->status >= 200 && $this->status < 300;
    }

    /** Whether sending again may succeed: no response, 408, 429, 5xx except 501. */
    public function retryable(): bool
    {
        $s = $this->status;
        return $s === null || $s === 408 || $s === 429 || ($s >= 500 && $s <= 599 && $s !== 501);
    }

    /** The `lastError` text of a failed request. */
    public function message(): string
    {
        if ($this->status === null) {
            return (string) $this->error;
        }
        $text = 'HTTP ' . $this->status . ($this->reason === '' ? '' : ' ' . $this->reason);
        if ($this->excerpt !== '') {
            $text .= ': ' . self::oneLine($this->excerpt);
        }
        return $text;
    }

    /** Seconds the Retry-After header asks for (at most 300), null when there is none or it does not parse. */
    public function retryAfter(): ?float
    {
        $v = $this->retryAfterHeader === null ? '' : trim($this->retryAfterHeader);
        if ($v === '') {
            return null;
        }
        if (preg_match('/^[0-9]+$/', $v)) {
            $seconds = (float) $v;
        } else {
            $date = \DateTimeImmutable::createFromFormat(DATE_RFC7231, $v, new \DateTimeZone('UTC'));
            if ($date === false) {
                return null;
            }
            $seconds = max(0.0, (float) $date->format('U') - microtime(true));
        }
        return min(self::MAX_RETRY_AFTER, $seconds);
    }

    /**
     * An excerpt as one line of valid UTF-8: line breaks become spaces, invalid
     * bytes (a character cut at the end included) U+FFFD.
     */
    private static function oneLine(string $s): string
    {
        $s = str_replace(["\r\n", "\r", "\n"], ' ', $s);
        if (!preg_match('//u', $s)) {
            $s = (string) json_decode((string) json_encode($s, JSON_INVALID_UTF8_SUBSTITUTE));
        }
        return $s;
    }

    /** @param list<string> $headers */
    private static function viaCurl(HttpSinkConfig $c, string $body, array $headers, ?\CurlHandle &$curl): self
    {
        $r = new self();
        if ($curl === null) {
            $curl = curl_init();
        } else {
            // Options back to their defaults; the connection cache stays.
            curl_reset($curl);
        }
        $ms = (int) ceil($c->timeout * 1000);
        $head = [];
        $headers[] = 'Expect:';
        foreach ($headers as $i => $line) {
            // curl drops a header given as "Name:"; "Name;" sends it empty.
            if (str_ends_with($line, ': ')) {
                $headers[$i] = substr($line, 0, -2) . ';';
            }
        }
        curl_setopt_array($curl, self::curlTls($c) + [
            CURLOPT_URL => $c->url,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_HTTP_VERSION => CURL_HTTP_VERSION_1_1,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
            CURLOPT_NOSIGNAL => true,
            // The timeout bounds connecting, sending and waiting for the response,
            // each. curl has a connect timeout and a total one only: connecting
            // gets `timeout`, and the whole request twice that (sending a batch
            // then waiting for the answer).
            CURLOPT_CONNECTTIMEOUT_MS => $ms,
            CURLOPT_TIMEOUT_MS => 2 * $ms,
            CURLOPT_HEADERFUNCTION => static function ($h, string $line) use (&$head): int {
                if (str_starts_with($line, 'HTTP/')) {
                    $head = []; // a new response (after a 1xx)
                }
                $head[] = rtrim($line, "\r\n");
                return strlen($line);
            },
        ]);
        $response = curl_exec($curl);
        if ($response === false) {
            if (curl_errno($curl) === CURLE_OPERATION_TIMEDOUT) {
                $r->error = self::timeoutText($c);
            } else {
                // The system's words for a failed connect ("Connection refused")
                // rather than curl's, which carry a time ("after 0 ms").
                $os = (int) curl_getinfo($curl, CURLINFO_OS_ERRNO);
                $why = $os > 0 && function_exists('posix_strerror') ? posix_strerror($os) : curl_error($curl);
                $r->error = self::connectionText($c, $why);
            }
            return $r;
        }
        $r->readHead($c, $head);
        $r->excerpt = substr((string) $response, 0, self::EXCERPT);
        return $r;
    }

    /**
     * Whom curl trusts and who it is, as the extension: only caFile when given; else
     * SSL_CERT_FILE and SSL_CERT_DIR (in the process's own environment, not a
     * request's) in place of curl's default bundle and directory, as OpenSSL reads them.
     *
     * @return array<int, mixed>
     */
    private static function curlTls(HttpSinkConfig $c): array
    {
        $file = self::env('SSL_CERT_FILE');
        $dir = self::env('SSL_CERT_DIR');
        $options = [CURLOPT_SSL_VERIFYPEER => true, CURLOPT_SSL_VERIFYHOST => 2];
        if ($c->caFile !== null) {
            // PHP passes null as '', which curl refuses: a directory lookup under a
            // file finds nothing, so only the bundle is trusted.
            $options += [CURLOPT_CAINFO => $c->caFile, CURLOPT_CAPATH => $c->caFile];
        } else {
            if ($file !== null) {
                $options[CURLOPT_CAINFO] = $file;
            }
            if ($dir !== null) {
                $options[CURLOPT_CAPATH] = $dir;
            }
        }
        if ($c->clientCert !== null) {
            $options += [CURLOPT_SSLCERT => $c->clientCert, CURLOPT_SSLKEY => $c->clientKey];
        }
        // The proxy by the extension's rules; curl reads no environment variable
        // itself ('' is no proxy).
        return $options + [
            CURLOPT_PROXY => self::proxy($c) ?? '',
            CURLOPT_NOPROXY => '',
        ];
    }

    private static function proxy(HttpSinkConfig $c): ?string
    {
        return Proxy::select($c->proxy, self::isHttps($c), $c->host);
    }

    private static function isHttps(HttpSinkConfig $c): bool
    {
        return strncasecmp($c->url, 'https://', 8) === 0;
    }

    /**
     * The same for PHP's streams: given no cafile, OpenSSL's default paths, which
     * honour SSL_CERT_FILE and SSL_CERT_DIR themselves.
     *
     * @return array<string, mixed>
     */
    private static function streamTls(HttpSinkConfig $c): array
    {
        $options = ['verify_peer' => true, 'verify_peer_name' => true];
        if ($c->caFile !== null) {
            $options['cafile'] = $c->caFile;
        }
        if ($c->clientCert !== null) {
            $options += ['local_cert' => $c->clientCert, 'local_pk' => $c->clientKey];
        }
        return $options;
    }

    /** A variable of the process's environment (not a FastCGI request's), if set and not empty. */
    private static function env(string $name): ?string
    {
        $v = getenv($name, true);
        return is_string($v) && $v !== '' ? $v : null;
    }

    /** @param list<string> $headers */
    private static function viaStreams(HttpSinkConfig $c, string $body, array $headers): self
    {
        $r = new self();
        $http = [
            'method' => 'POST',
            'header' => implode("\r\n", $headers),
            'content' => $body,
            'timeout' => $c->timeout,
            'ignore_errors' => true,
            'follow_location' => 0,
            'protocol_version' => 1.1,
        ];
        $proxy = self::proxy($c);
        if ($proxy !== null) {
            // An https URL goes through a CONNECT tunnel, an http one as a full URI.
            $p = parse_url($proxy);
            $http['proxy'] = 'tcp://' . ($p['host'] ?? '') . ':' . ($p['port'] ?? 0);
            $http['request_fulluri'] = !self::isHttps($c);
            if (isset($p['user'])) {
                $auth = rawurldecode($p['user']) . ':' . rawurldecode($p['pass'] ?? '');
                $http['header'] .= "\r\nProxy-Authorization: Basic " . base64_encode($auth);
            }
        }
        $context = stream_context_create(['http' => $http, 'ssl' => self::streamTls($c)]);
        $warning = null;
        set_error_handler(static function (int $no, string $message) use (&$warning): bool {
            $warning = $message;
            return true;
        });
        $start = microtime(true);
        try {
            $fh = fopen($c->url, 'rb', false, $context);
            $response = $fh === false ? false : stream_get_contents($fh);
            $meta = $fh === false ? null : stream_get_meta_data($fh);
        } finally {
            restore_error_handler();
        }
        $elapsed = microtime(true) - $start;
        if ($fh === false || $meta === null) {
            $why = $warning === null ? 'no response' : preg_replace('/^.*?Failed to open stream: /s', '', $warning);
            if (str_contains((string) $why, 'timed out') || $elapsed >= $c->timeout * 0.98) {
                $r->error = self::timeoutText($c);
            } elseif (str_starts_with((string) $why, 'HTTP request failed')) {
                $r->error = self::connectionText($c, 'the server closed the connection without a response');
            } else {
                $r->error = self::connectionText($c, (string) $why);
            }
            return $r;
        }
        fclose($fh);
        $head = [];
        foreach ($meta['wrapper_data'] ?? [] as $line) {
            if (is_string($line) && str_starts_with($line, 'HTTP/')) {
                $head = [];
            }
            $head[] = (string) $line;
        }
        $r->readHead($c, $head);
        if (!empty($meta['timed_out']) && $r->status === null) {
            $r->error = self::timeoutText($c);
        }
        $r->excerpt = substr((string) $response, 0, self::EXCERPT);
        return $r;
    }

    /** Status, reason and Retry-After from the status line and the header lines. */
    private function readHead(HttpSinkConfig $c, array $head): void
    {
        foreach ($head as $line) {
            if (preg_match('~^HTTP/\S+\s+([0-9]{3})(?:\s|$)~', $line, $m)) {
                $this->status = (int) $m[1];
                $this->reason = self::REASONS[$this->status] ?? '';
            } elseif (stripos($line, 'retry-after:') === 0) {
                $this->retryAfterHeader = substr($line, 12);
            }
        }
        if ($this->status === null) {
            $this->error = self::connectionText($c, 'no HTTP status line in the response');
        }
    }

    private static function timeoutText(HttpSinkConfig $c): string
    {
        return 'timeout after ' . $c->timeout . 's';
    }

    private static function connectionText(HttpSinkConfig $c, string $why): string
    {
        return sprintf('connection to %s:%d failed: %s', $c->host, $c->port, $why);
    }
}
