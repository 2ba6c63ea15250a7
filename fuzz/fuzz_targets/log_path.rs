//! Container output on its whole way, from daemon frames to a drawn UI frame, fed
//! arbitrary bytes: no panic, bounded buffers, no control character left where a
//! terminal would act on it. The checks are in `fuzz/log_path.rs`, shared with the
//! property test in `tests/trust_logs.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../log_path.rs"]
mod log_path;

fuzz_target!(|data: &[u8]| log_path::check(data));
