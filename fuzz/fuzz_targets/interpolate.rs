//! Interpolation on arbitrary text: never panics, syntax errors quote the input, a
//! required-variable error names an unset (or empty) variable, and with every `$`
//! doubled the text comes back unchanged.
#![no_main]

use devstack::stack::{InterpolationError, interpolate};
use libfuzzer_sys::fuzz_target;

fn lookup(name: &str) -> Option<String> {
    match name {
        "SET" | "A" | "B" => Some("value".into()),
        "EMPTY" => Some(String::new()),
        "DOLLAR" => Some("${NOPE:?x} $$".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match interpolate(text, &lookup) {
        Ok(out) => {
            if !text.contains('$') {
                assert_eq!(out, text);
            }
        }
        Err(InterpolationError::Syntax { text: t, .. }) => assert_eq!(t, text),
        Err(InterpolationError::Required { variable, .. }) => {
            assert!(lookup(&variable).is_none_or(|v| v.is_empty()), "{variable}");
        }
    }
    let escaped = text.replace('$', "$$");
    assert_eq!(interpolate(&escaped, &lookup).as_deref(), Ok(text));
});
