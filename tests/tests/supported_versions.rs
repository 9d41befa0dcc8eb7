//! The PHP versions the extension builds for, and the Rust it needs, are written in
//! five places that each tool reads on its own: build.rs (cargo), config.m4
//! (phpize), composer.json (PIE), Cargo.toml (`rust-version`) and the README. They
//! must say the same thing.

use asyncbatch_e2e::repo_root;

fn read(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// The text between `before` and the next `after` in `text`.
fn between<'a>(text: &'a str, before: &str, after: &str, what: &str) -> &'a str {
    let start = text.find(before).unwrap_or_else(|| panic!("{what}: {before:?} not found")) + before.len();
    let len =
        text[start..].find(after).unwrap_or_else(|| panic!("{what}: {after:?} not found after {before:?}"));
    &text[start..start + len]
}

/// "8.5" from 805.
fn dotted(v: u32) -> String {
    format!("{}.{}", v / 100, v % 100)
}

#[test]
fn build_rs_config_m4_composer_json_cargo_toml_and_the_readme_name_the_same_php_and_rust() {
    // build.rs: `const SUPPORTED: ... = 802..=805;`
    let build_rs = read("build.rs");
    let range = between(&build_rs, "const SUPPORTED: std::ops::RangeInclusive<u32> = ", ";", "build.rs");
    let (low, high) = range.split_once("..=").expect("build.rs: SUPPORTED is an inclusive range");
    let (low, high): (u32, u32) = (low.trim().parse().unwrap(), high.trim().parse().unwrap());
    // The first version refused above the range: 8.6 after 8.5, 9.0 after 8.99.
    let next = if high % 100 == 99 { (high / 100 + 1) * 100 } else { high + 1 };
    let (first, last) = (dotted(low), dotted(high));

    let m4 = read("config.m4");
    let refused = format!("test \"$ab_vernum\" -lt {low}00 || test \"$ab_vernum\" -ge {next}00");
    assert!(m4.contains(&refused), "config.m4 does not refuse PHP outside {first} to {last} ({refused:?})");
    assert!(
        m4.contains(&format!("asyncbatch builds for PHP {first} to {last};")),
        "config.m4's message does not name PHP {first} to {last}"
    );

    let composer = read("composer.json");
    let php = format!("\"php\": \">={first} <{}\"", dotted(next));
    assert!(composer.contains(&php), "composer.json does not require {php}");

    let cargo_toml = read("Cargo.toml");
    let rust = between(&cargo_toml, "rust-version = \"", "\"", "Cargo.toml");
    let needed = format!("Rust {rust} or later");
    assert!(m4.contains(&needed), "config.m4 does not say {needed:?}");

    let readme = read("README.md").replace('\n', " ");
    let says = format!("The extension builds for PHP {first} to {last} ");
    assert!(readme.contains(&says), "README.md does not say {says:?}");
    let says = format!("with Rust {rust} or later");
    assert!(readme.contains(&says), "README.md does not say {says:?}");
}
