//! The file the test jobs' callables append to, one line per delivered batch:
//!
//! ```text
//! batch pid=4242 at=1763900000.123456 n=4 items=r1-0,r1-1,r1-2,r1-3
//! ```
//!
//! Written by `tests/php/fpm_job.php` (items are strings without `,` or spaces).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// One delivered batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The process that called the callable.
    pub pid: i32,
    /// Unix time the callable finished (after its simulated work).
    pub at: f64,
    /// The items, in the order the callable received them.
    pub items: Vec<String>,
}

/// Reads every complete (newline-terminated) line of the batch log at `path`
/// (none if it is missing).
///
/// # Panics
/// On a line that does not parse.
pub fn read_batches(path: &Path) -> Vec<Batch> {
    let text = fs::read_to_string(path).unwrap_or_default();
    // A line still being appended has no newline yet: leave it for the next read.
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| parse_line(l).unwrap_or_else(|| panic!("bad batch line: {l:?}")))
        .collect()
}

fn parse_line(line: &str) -> Option<Batch> {
    let rest = line.strip_prefix("batch ")?;
    let mut fields = BTreeMap::new();
    for part in rest.split(' ') {
        let (key, value) = part.split_once('=')?;
        fields.insert(key, value);
    }
    let items: Vec<String> = match fields.get("items")? {
        &"" => Vec::new(),
        list => list.split(',').map(str::to_owned).collect(),
    };
    let n: usize = fields.get("n")?.parse().ok()?;
    if n != items.len() {
        return None;
    }
    Some(Batch { pid: fields.get("pid")?.parse().ok()?, at: fields.get("at")?.parse().ok()?, items })
}

/// How many times each item was delivered.
pub fn delivery_counts(batches: &[Batch]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for batch in batches {
        for item in &batch.items {
            *counts.entry(item.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// True when every item of `expected` was delivered at least once.
pub fn all_delivered(batches: &[Batch], expected: &[String]) -> bool {
    let counts = delivery_counts(batches);
    expected.iter().all(|item| counts.contains_key(item))
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn parses_a_batch_line() {
        let batch = parse_line("batch pid=42 at=1763900000.5 n=2 items=r1-0,r1-1").unwrap();
        assert_eq!(batch.pid, 42);
        assert_eq!(batch.at, 1763900000.5);
        assert_eq!(batch.items, ["r1-0", "r1-1"]);
    }

    #[test]
    fn rejects_a_count_that_does_not_match() {
        assert!(parse_line("batch pid=42 at=1 n=3 items=a,b").is_none());
    }
}
