//! The `.env` parser on arbitrary text: never panics, errors carry `file:line:col`
//! inside the text; and what it parses, written back with quoting, parses the same.
#![no_main]

use std::path::Path;

use devstack::stack::parse_env_file;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// Single quotes when the value has none (and no CR, which the parser drops), else
/// double quotes with escapes.
fn line(key: &str, value: &str) -> String {
    if !value.contains(['\'', '\r']) {
        return format!("{key}='{value}'");
    }
    let mut s = String::new();
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    format!("{key}=\"{s}\"")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/project/.env");
    match parse_env_file(text, file) {
        Ok(entries) => {
            let written: String = entries.iter().map(|(k, v)| line(k, v) + "\n").collect();
            let again = parse_env_file(&written, file);
            assert_eq!(again.as_ref().ok(), Some(&entries), "{written:?}");
        }
        Err(e) => common::check_error(&e, file, text),
    }
});
