//! The PHP SAPIs asyncbatch supports, and what it needs to know of each: whether
//! it runs one long script (the CLI) rather than requests, and which PHP function,
//! if any, sends the response before the request ends.
//!
//! Loaded into a SAPI not listed here, the extension works as in a web SAPI with no
//! way to send the response early, and says so once, at startup, in one log line.

/// A SAPI asyncbatch supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SapiKind {
    /// Its name, as `php_sapi_name()` gives it.
    pub name: &'static str,
    /// Runs one script, not requests: a batch found due at `submitItem()` is
    /// delivered there, since the end of the script may be far away.
    pub script: bool,
    /// The function that sends the response and lets the request go on, where the
    /// SAPI has one; called only when it exists.
    pub finish_request: Option<&'static str>,
}

const fn web(name: &'static str, finish_request: Option<&'static str>) -> SapiKind {
    SapiKind { name, script: false, finish_request }
}

/// The SAPIs asyncbatch supports.
pub const SUPPORTED: &[SapiKind] = &[
    SapiKind { name: "cli", script: true, finish_request: None },
    web("fpm-fcgi", Some("fastcgi_finish_request")),
    web("cgi-fcgi", None),
    web("apache2handler", None),
    web("litespeed", Some("litespeed_finish_request")),
    web("frankenphp", Some("frankenphp_finish_request")),
    web("cli-server", None),
    SapiKind { name: "embed", script: true, finish_request: None },
];

/// What asyncbatch does in a SAPI it does not support: what it does in a web SAPI
/// that cannot send the response early.
pub const UNSUPPORTED: SapiKind = web("", None);

/// The SAPI named `name`, when supported.
pub fn lookup(name: &str) -> Option<&'static SapiKind> {
    SUPPORTED.iter().find(|s| s.name == name)
}

/// The SAPI named `name`, or [`UNSUPPORTED`].
pub fn kind(name: &str) -> &'static SapiKind {
    lookup(name).unwrap_or(&UNSUPPORTED)
}

/// The line logged once at startup in an unsupported SAPI; none in a supported one.
pub fn unsupported_notice(name: &str) -> Option<String> {
    if lookup(name).is_some() {
        return None;
    }
    let names: Vec<&str> = SUPPORTED.iter().map(|s| s.name).collect();
    Some(format!(
        "asyncbatch: the {name:?} SAPI is not supported (supported: {}); items are delivered at the end \
         of each request, as in php-fpm, without sending the response first",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_runs_a_script_and_php_fpm_sends_its_response_first() {
        assert!(kind("cli").script);
        let fpm = kind("fpm-fcgi");
        assert!(!fpm.script);
        assert_eq!(fpm.finish_request, Some("fastcgi_finish_request"));
        assert_eq!(unsupported_notice("fpm-fcgi"), None);
    }

    #[test]
    fn an_unsupported_sapi_is_named_in_one_line_and_treated_as_a_web_sapi() {
        let notice = unsupported_notice("phpdbg").unwrap();
        assert!(
            notice.starts_with("asyncbatch: the \"phpdbg\" SAPI is not supported (supported: cli, fpm-fcgi,")
        );
        assert!(!notice.contains('\n'));
        assert_eq!(kind("phpdbg"), &UNSUPPORTED);
        assert!(!UNSUPPORTED.script && UNSUPPORTED.finish_request.is_none());
    }
}
