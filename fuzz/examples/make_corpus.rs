//! Writes the seed corpus, `corpus/<target>/<name>`, from `src/seeds.rs`:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example make_corpus
//!
//! Seeds are checked first: each must pass its target's check, and those meant to
//! be valid must decode.

use asyncbatch_core::failure_store::FailureRecord;
use asyncbatch_core::frame;
use asyncbatch_core::item::Value;
use asyncbatch_fuzz::seeds;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in seeds::all() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            let valid = match target {
                "spool_frames" => match name {
                    "segment" => !frame::scan_segment(&bytes).is_damaged(),
                    "payload" => frame::decode_payload(&bytes).is_ok(),
                    "message" => asyncbatch_core::transport::message::decode(&bytes).is_some(),
                    _ => !frame::scan_segment(&bytes).frames.is_empty() || name == "header-only",
                },
                "item" => Value::decode(&bytes).is_ok(),
                "failure_file" if name.starts_with("record") => FailureRecord::decode(&bytes).is_ok(),
                _ => true,
            };
            assert!(valid, "seed {target}/{name} does not decode");
            match target {
                "spool_frames" => asyncbatch_fuzz::check_spool_frames(&bytes),
                "item" => asyncbatch_fuzz::check_item(&bytes),
                _ => asyncbatch_fuzz::check_failure_file(&bytes),
            }
            std::fs::write(dir.join(name), &bytes).unwrap();
            println!("{target}/{name}: {} bytes", bytes.len());
        }
    }
}
