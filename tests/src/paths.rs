//! Where the repository, the built extension, the polyfill and the PHP binaries are.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (the parent of this crate's directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent directory").to_path_buf()
}

/// A PHP script of the end-to-end suite, in `tests/php/`.
pub fn fixture(name: &str) -> PathBuf {
    let path = repo_root().join("tests").join("php").join(name);
    assert!(path.is_file(), "fixture {} does not exist", path.display());
    path
}

/// The built extension: `$ASYNCBATCH_SO`, else `libasyncbatch.so` in the release
/// directory of `$CARGO_TARGET_DIR` (default `target/`).
///
/// # Panics
/// When the file does not exist, with a message saying how to build it.
pub fn extension_so() -> PathBuf {
    match find_extension_so() {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

/// Like [`extension_so`], with the problem as an `Err` instead of a panic.
pub fn find_extension_so() -> Result<PathBuf, String> {
    let path = match env::var_os("ASYNCBATCH_SO") {
        Some(path) => PathBuf::from(path),
        None => {
            let target = env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root().join("target"));
            let target = if target.is_absolute() { target } else { repo_root().join(target) };
            target.join("release").join("libasyncbatch.so")
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the asyncbatch extension is not built: {} does not exist.\n\
             Run `cargo build --release` at the repository root first \
             (or set ASYNCBATCH_SO to the path of a built libasyncbatch.so).",
            path.display()
        ))
    }
}

/// The polyfill's loader: `$ASYNCBATCH_POLYFILL` (a path to an autoload file),
/// else `php/autoload.php`.
///
/// # Panics
/// When the file does not exist.
pub fn polyfill_autoload() -> PathBuf {
    match find_polyfill_autoload() {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

/// Like [`polyfill_autoload`], with the problem as an `Err` instead of a panic.
pub fn find_polyfill_autoload() -> Result<PathBuf, String> {
    let path = match env::var_os("ASYNCBATCH_POLYFILL") {
        Some(path) => PathBuf::from(path),
        None => repo_root().join("php").join("autoload.php"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the asyncbatch polyfill is missing: {} does not exist", path.display()))
    }
}

/// The PHP CLI binary: `$PHP_BIN`, else `php` from `PATH`.
pub fn php_binary() -> PathBuf {
    match env::var_os("PHP_BIN") {
        Some(path) => PathBuf::from(path),
        None => find_program(&["php"], "php-cli"),
    }
}

/// The `major.minor` version of [`php_binary`] (`8.2`, `8.4`): the php-fpm
/// of the same version is the one the tests drive.
pub fn php_version() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let php = php_binary();
            let out = Command::new(&php)
                .args(["-n", "-r", "echo PHP_MAJOR_VERSION, '.', PHP_MINOR_VERSION;"])
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", php.display()));
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert!(
                out.status.success() && !version.is_empty(),
                "{} -r 'echo PHP_MAJOR_VERSION...' printed no version",
                php.display()
            );
            version
        })
        .clone()
}

/// The php-fpm binary: `$PHP_FPM_BIN`, else `php-fpm{version}` (the version of
/// [`php_binary`]) or `php-fpm`, looked up in `PATH` and in `/usr/sbin` (which a
/// non-root `PATH` often lacks).
pub fn php_fpm_binary() -> PathBuf {
    match env::var_os("PHP_FPM_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let version = php_version();
            find_program(&[&format!("php-fpm{version}"), "php-fpm"], &format!("php{version}-fpm"))
        }
    }
}

/// The FastCGI command-line client `cgi-fcgi`.
pub fn cgi_fcgi_binary() -> PathBuf {
    find_program(&["cgi-fcgi"], "libfcgi-bin")
}

fn find_program(names: &[&str], debian_package: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found in PATH or /usr/sbin: install the Debian package {} (bash scripts/deps.sh)",
        names.join(" or "),
        debian_package
    );
}
