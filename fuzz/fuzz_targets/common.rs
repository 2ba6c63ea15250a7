//! Shared by the fuzz targets: the invariant every loader error keeps.

use std::path::Path;

/// The message names the file; a positioned error shows `file:line:col` with a line
/// inside the text and a column of at least 1.
pub fn check_error(e: &devstack::stack::Error, file: &Path, text: &str) {
    let message = e.to_string();
    let name = file.display().to_string();
    assert!(
        message.contains(&name),
        "error does not name '{name}': {message}"
    );
    if let Some(at) = e.position() {
        assert_eq!(at.file, file, "error names another file: {message}");
        let lines = line_breaks(text) + 2;
        assert!(
            at.line >= 1 && at.line <= lines && at.column >= 1,
            "position {}:{} outside the text ({lines} lines): {message}",
            at.line,
            at.column
        );
        let needle = format!("{name}:{}:{}", at.line, at.column);
        assert!(message.contains(&needle), "no '{needle}' in: {message}");
    }
}

/// Line breaks as YAML 1.1 (libyaml) counts them: `\r\n`, a lone `\r`, `\n`, NEL,
/// and the Unicode line and paragraph separators (`str::lines` knows only `\n`).
fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n")
        .matches(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'])
        .count()
}
