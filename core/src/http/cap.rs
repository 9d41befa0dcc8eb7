//! The byte cap (`maxBatchBytes`): a batch whose body would be larger is cut into
//! pieces that each fit, in order; an item whose body alone is larger cannot be sent
//! and is stored as failed. Collectors refuse large bodies (413) — permanently, so
//! without a cap one large batch would end in the failure store whole.
//!
//! The cut is the same on both sides and every time for the same items, so that a
//! batch cut again (a retry after a stop, `failed:retry`) sends the same pieces under
//! the same piece ids.

use crate::batch::Batch;
use crate::delivery::Pieces;
use crate::http::client::plain_body;
use crate::http::config::{Format, SinkConfig};

/// The message for a body (or an item's) over the cap.
pub fn too_big(what: &str, len: usize, cap: usize) -> String {
    format!("{what} of {len} bytes is larger than maxBatchBytes ({cap}); not sent")
}

/// Bytes of JSON at most per byte of MessagePack, for each format: a one-byte `nil`
/// or `false` becomes `null,`/`false,`, a control byte `\u0001`; in OTLP a one-byte
/// value that is a whole item becomes `{"body":{},"attributes":[]},`.
fn expansion(format: Format) -> usize {
    match format {
        Format::Json | Format::Ndjson => 6,
        Format::Otlp => 32,
    }
}

/// The pieces `batch` is posted in, or `None` when its body fits whole.
pub fn split(sink: &SinkConfig, batch: &Batch) -> Option<Pieces> {
    let cap = sink.max_batch_bytes;
    // Most batches are far below the cap: no need to encode them to know.
    let resource: usize = sink.resource.iter().map(|(k, v)| k.len() + v.encode().len() * 32 + 32).sum();
    let bound = batch.byte_len() * expansion(sink.format) + batch.len() + 256 + resource;
    if bound <= cap {
        return None;
    }
    // A body that does not encode fails at the post, with its message.
    let whole = plain_body(sink, batch).ok()?;
    if whole.len() <= cap {
        return None;
    }
    let empty = plain_body(sink, &Batch::new()).ok()?.len();
    let mut pieces = Pieces::default();
    let mut piece = Batch::new();
    let mut size = empty;
    for item in batch.iter() {
        let mut one = Batch::new();
        one.push(item);
        let alone = plain_body(sink, &one).map_or(usize::MAX, |b| b.len());
        if alone > cap {
            pieces.too_big.push((one, too_big("item", alone, cap)));
            continue;
        }
        // The item's body less the empty body, and a separator: never less than it
        // adds to a body of several (in OTLP, less: records of a channel share a scope).
        let adds = alone - empty + 1;
        if !piece.is_empty() && size + adds > cap {
            pieces.sends.push(std::mem::take(&mut piece));
            size = empty;
        }
        piece.push(item);
        size += adds;
    }
    if !piece.is_empty() {
        pieces.sends.push(piece);
    }
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::Value;

    fn sink(format: Format, cap: usize) -> SinkConfig {
        let base = SinkConfig::new(b"http://h/", std::iter::empty()).unwrap();
        SinkConfig { format, max_batch_bytes: cap, ..base }
    }

    fn items(sizes: &[usize]) -> Batch {
        let mut b = Batch::new();
        for (i, n) in sizes.iter().enumerate() {
            b.push(
                &Value::Map(vec![(
                    crate::item::Key::Bytes(b"m".to_vec()),
                    Value::str(&format!("{i}{}", "x".repeat(*n))),
                )])
                .encode(),
            );
        }
        b
    }

    #[test]
    fn a_batch_that_fits_is_not_cut() {
        assert_eq!(split(&sink(Format::Json, 4 << 20), &items(&[100; 50])), None);
        // Over the cheap bound, under the cap once encoded.
        assert_eq!(split(&sink(Format::Json, 5200), &items(&[90; 50])), None);
    }

    #[test]
    fn pieces_fit_keep_the_order_and_leave_out_what_cannot_fit() {
        for format in [Format::Json, Format::Ndjson, Format::Otlp] {
            let s = sink(format, 2048);
            let batch = items(&[300, 300, 5000, 300, 300, 300, 300, 1500, 300]);
            let p = split(&s, &batch).expect("cut");
            assert_eq!(p.too_big.len(), 1, "{format:?}");
            assert!(p.too_big[0].1.starts_with("item of "), "{}", p.too_big[0].1);
            assert!(p.too_big[0].1.ends_with(" bytes is larger than maxBatchBytes (2048); not sent"));
            let mut sent = Batch::new();
            for piece in &p.sends {
                assert!(plain_body(&s, piece).unwrap().len() <= 2048, "{format:?}");
                sent.append(piece.clone());
            }
            let mut rest = batch.clone();
            let mut expected = rest.split_front(2);
            rest.split_front(1);
            expected.append(rest);
            assert!(sent == expected, "{format:?}: items lost or out of order");
            assert!(p.sends.len() >= 2);
            // The same items are cut the same way.
            assert!(split(&s, &batch) == Some(p), "cut differently");
        }
    }
}
