//! Which proxy a post goes through: the sink's `proxy` option, else the process's
//! environment read as curl reads it — `https_proxy`/`HTTPS_PROXY` for https URLs,
//! `http_proxy` (lower case only: under CGI, `HTTP_PROXY` is the request's `Proxy:`
//! header) for http URLs, then `all_proxy`/`ALL_PROXY`, and `no_proxy`/`NO_PROXY`
//! naming the hosts reached directly. The polyfill follows the same rules
//! (php/src/Internal/Proxy.php).

/// Why a proxy URL is refused.
pub const PROXY_RULE: &str = "an http:// URL with a host and a port";

/// The proxy for a post to `host` (as the sink's URL writes it), if any.
/// `option` is the sink's `proxy`, already checked; `env` reads the environment.
pub fn select(
    option: Option<&str>,
    https: bool,
    host: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if let Some(p) = option {
        return Some(p.to_string());
    }
    let var = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()));
    let chosen = if https { var(&["https_proxy", "HTTPS_PROXY"]) } else { var(&["http_proxy"]) }
        .or_else(|| var(&["all_proxy", "ALL_PROXY"]))?;
    if var(&["no_proxy", "NO_PROXY"]).is_some_and(|list| bypasses(&list, host)) {
        return None;
    }
    normalize(chosen.trim())
}

/// A proxy URL as the environment may write it (`proxy:3128`), as `http://proxy:3128`;
/// none when it is not an http proxy with a host and a port.
pub fn normalize(url: &str) -> Option<String> {
    let url = if url.contains("://") { url.to_string() } else { format!("http://{url}") };
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = host_port.rsplit_once(':')?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    let ok = port_ok && !host.is_empty() && !url.bytes().any(|c| c <= b' ' || c == 0x7f);
    ok.then_some(url)
}

/// Whether `no_proxy` (comma- or space-separated; `*` for all; a leading dot
/// optional) names `host` or a domain it is in.
pub fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    no_proxy.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry =
            entry.trim_start_matches('.').trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        host == entry || host.strip_suffix(&entry).is_some_and(|head| head.ends_with('.'))
    })
}

/// The URL's userinfo replaced by `***`, for messages.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let vars = [("https_proxy", "http://s:1"), ("http_proxy", "h:2"), ("ALL_PROXY", "http://a:3")];
        assert_eq!(select(None, true, "x", env(&vars)).as_deref(), Some("http://s:1"));
        assert_eq!(select(None, false, "x", env(&vars)).as_deref(), Some("http://h:2"));
        // HTTP_PROXY in upper case is not read: under CGI a request sets it.
        let vars = [("HTTP_PROXY", "http://evil:1"), ("HTTPS_PROXY", "http://s:1")];
        assert_eq!(select(None, false, "x", env(&vars)), None);
        assert_eq!(select(None, true, "x", env(&vars)).as_deref(), Some("http://s:1"));
        assert_eq!(
            select(None, false, "x", env(&[("all_proxy", "http://a:3")])).as_deref(),
            Some("http://a:3")
        );
        // The option wins over the environment, no_proxy included.
        let vars = [("https_proxy", "http://s:1"), ("no_proxy", "*")];
        assert_eq!(select(Some("http://o:9"), true, "x", env(&vars)).as_deref(), Some("http://o:9"));
        assert_eq!(select(None, true, "x", env(&vars)), None);
        assert_eq!(select(None, true, "x", env(&[("https_proxy", "not a proxy")])), None);
    }

    #[test]
    fn no_proxy_names_hosts_and_their_domains() {
        assert!(bypasses("localhost,.internal", "LOCALHOST"));
        assert!(bypasses("localhost, .internal", "logs.internal"));
        assert!(bypasses("internal", "a.b.internal"));
        assert!(!bypasses("internal", "notinternal"));
        assert!(bypasses("127.0.0.1 ::1", "[::1]"));
        assert!(!bypasses("127.0.0.1", "127.0.0.10"));
        assert!(bypasses("*", "anything"));
        assert!(!bypasses("", "x"));
    }

    #[test]
    fn proxy_urls_need_http_a_host_and_a_port_and_lose_their_credentials_in_messages() {
        assert_eq!(normalize("proxy:3128").as_deref(), Some("http://proxy:3128"));
        assert_eq!(normalize("http://u:p@proxy:3128/").as_deref(), Some("http://u:p@proxy:3128/"));
        for bad in
            ["http://proxy", "https://proxy:1", "socks5://p:1", "http://:1", "http://p:0", "http://p :1"]
        {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_eq!(redacted("http://u:p@proxy:3128/x"), "http://***@proxy:3128/x");
        assert_eq!(redacted("http://proxy:3128"), "http://proxy:3128");
    }
}
