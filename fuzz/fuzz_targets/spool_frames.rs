#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| asyncbatch_fuzz::check_spool_frames(data));
