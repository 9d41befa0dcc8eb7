//! Refuses, with a message naming it, a PHP the extension is not made for: a build
//! error now rather than a crash when PHP loads the module.

use std::env;
use std::process::Command;

/// The PHP versions (`PHP_VERSION_ID / 100`) the extension builds for.
const SUPPORTED: std::ops::RangeInclusive<u32> = 802..=805;

fn main() {
    println!("cargo:rerun-if-env-changed=PHP_CONFIG");
    println!("cargo:rerun-if-env-changed=PATH");
    let php_config = env::var("PHP_CONFIG").unwrap_or_else(|_| "php-config".to_string());
    let ask = |flag: &str| -> String {
        let out = Command::new(&php_config).arg(flag).output().unwrap_or_else(|e| {
            refuse(&format!("cannot run {php_config} ({e}): install PHP's development files (php8.x-dev)"))
        });
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let version = ask("--version");
    let id: u32 = ask("--vernum").parse().unwrap_or(0);
    if !SUPPORTED.contains(&(id / 100)) {
        refuse(&format!(
            "asyncbatch builds for PHP {}.{} to {}.{}; {php_config} is PHP {version}. \
             Set PHP_CONFIG to the php-config of a supported PHP.",
            SUPPORTED.start() / 100,
            SUPPORTED.start() % 100,
            SUPPORTED.end() / 100,
            SUPPORTED.end() % 100,
        ));
    }
}

/// Fails the build with one line, without a panic's backtrace.
fn refuse(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
