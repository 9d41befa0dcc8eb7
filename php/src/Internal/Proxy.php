<?php

declare(strict_types=1);

namespace AsyncBatch\Internal;

/**
 * Which proxy a post goes through, by the extension's rules (core/src/http/proxy.rs):
 * the sink's `proxy` option, else the process's environment read as curl reads it —
 * `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` (lower case only: under
 * CGI, `HTTP_PROXY` is the request's `Proxy:` header) for http URLs, then
 * `all_proxy`/`ALL_PROXY`, and `no_proxy`/`NO_PROXY` naming the hosts reached directly.
 */
final class Proxy
{
    public const RULE = 'an http:// URL with a host and a port';

    /** The proxy URL for a post to $host (as the sink's URL writes it), or null. */
    public static function select(?string $option, bool $https, string $host): ?string
    {
        if ($option !== null) {
            return $option;
        }
        $chosen = self::env($https ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy'])
            ?? self::env(['all_proxy', 'ALL_PROXY']);
        if ($chosen === null) {
            return null;
        }
        $noProxy = self::env(['no_proxy', 'NO_PROXY']);
        if ($noProxy !== null && self::bypasses($noProxy, $host)) {
            return null;
        }
        return self::normalize(trim($chosen));
    }

    /** `proxy:3128` as `http://proxy:3128`; null unless an http proxy with a host and a port. */
    public static function normalize(string $url): ?string
    {
        if (!str_contains($url, '://')) {
            $url = 'http://' . $url;
        }
        [$scheme, $rest] = explode('://', $url, 2);
        if (strcasecmp($scheme, 'http') !== 0 || preg_match('/[\x00-\x20\x7f]/', $url)) {
            return null;
        }
        $authority = explode('/', $rest, 2)[0];
        $at = strrpos($authority, '@');
        $hostPort = $at === false ? $authority : substr($authority, $at + 1);
        $colon = strrpos($hostPort, ':');
        if ($colon === false || $colon === 0) {
            return null;
        }
        $port = substr($hostPort, $colon + 1);
        return preg_match('/^[0-9]{1,5}$/', $port) && (int) $port > 0 && (int) $port <= 65535 ? $url : null;
    }

    /** Whether a no_proxy list (comma- or space-separated, `*` for all) names $host or a domain it is in. */
    public static function bypasses(string $noProxy, string $host): bool
    {
        $host = strtolower(rtrim(trim($host, '[]'), '.'));
        foreach (preg_split('/[, ]+/', $noProxy, -1, PREG_SPLIT_NO_EMPTY) as $entry) {
            if ($entry === '*') {
                return true;
            }
            $entry = strtolower(trim(ltrim($entry, '.'), '[]'));
            if ($entry !== '' && ($host === $entry || str_ends_with($host, '.' . $entry))) {
                return true;
            }
        }
        return false;
    }

    /** @param list<string> $names */
    private static function env(array $names): ?string
    {
        foreach ($names as $name) {
            $v = getenv($name, true);
            if (is_string($v) && trim($v) !== '') {
                return $v;
            }
        }
        return null;
    }
}
