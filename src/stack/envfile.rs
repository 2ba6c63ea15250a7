//! `.env` syntax, shared by the `.env` next to the stack file, `--env-file`, and every
//! service's `env_file:`: `KEY=VALUE` lines, blank lines, `#` comments, an `export `
//! prefix, 'single quotes' (literal), "double quotes" (escapes, may span lines), and
//! ` #` comments after unquoted values.
//!
//! Pure text in, entries out: it reads no files and interpolates nothing (the loader
//! expands `$VAR` in unquoted and double-quoted values, as Compose does).

use std::path::Path;

use super::error::Error;
use super::model::Position;

/// One assignment in an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvEntry {
    pub key: String,
    /// `None` for a bare `KEY` line: Compose takes such a value from the environment.
    pub value: Option<String>,
    /// Whether `$VAR` in the value is to be expanded (not in single quotes).
    pub expand: bool,
    pub line: usize,
}

/// Parses `.env` text into `(key, value)` pairs in file order; a later duplicate wins
/// when collected into a map. Bare `KEY` lines (no `=`) are left out: they name a
/// variable to take from the environment, which only the loader knows.
pub fn parse_env_file(text: &str, path: &Path) -> Result<Vec<(String, String)>, Error> {
    Ok(parse_entries(text, path)?
        .into_iter()
        .filter_map(|e| e.value.map(|v| (e.key, v)))
        .collect())
}

pub(crate) fn parse_entries(text: &str, path: &Path) -> Result<Vec<EnvEntry>, Error> {
    let mut s = Scanner {
        chars: text.chars().filter(|c| *c != '\r').collect(),
        at: 0,
        line: 1,
        column: 1,
        path,
    };
    let mut out = Vec::new();
    loop {
        s.skip_blanks();
        let Some(c) = s.peek() else { break };
        if c == '\n' {
            s.bump();
            continue;
        }
        if c == '#' {
            s.skip_line();
            continue;
        }
        if s.starts_with("export ") || s.starts_with("export\t") {
            for _ in 0..6 {
                s.bump();
            }
            s.skip_blanks();
        }
        let line = s.line;
        let key = s.key()?;
        s.skip_blanks();
        match s.peek() {
            None | Some('\n') => {
                out.push(EnvEntry {
                    key,
                    value: None,
                    expand: false,
                    line,
                });
                continue;
            }
            Some('#') => {
                s.skip_line();
                out.push(EnvEntry {
                    key,
                    value: None,
                    expand: false,
                    line,
                });
                continue;
            }
            Some('=') => {
                s.bump();
            }
            Some(_) => {
                return Err(s.error(&key, "expected '=' after the variable name"));
            }
        }
        let spaced = s.skip_blanks();
        let (value, expand) = match s.peek() {
            Some('\'') => {
                s.bump();
                let v = s.until_quote('\'', &key)?;
                s.rest_is_comment(&key)?;
                (v, false)
            }
            Some('"') => {
                s.bump();
                let v = s.double_quoted(&key)?;
                s.rest_is_comment(&key)?;
                (v, true)
            }
            Some('#') if spaced => {
                s.skip_line();
                (String::new(), true)
            }
            _ => (s.unquoted(), true),
        };
        out.push(EnvEntry {
            key,
            value: Some(value),
            expand,
            line,
        });
    }
    Ok(out)
}

struct Scanner<'a> {
    chars: Vec<char>,
    at: usize,
    line: usize,
    column: usize,
    path: &'a Path,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.at + i) == Some(&c))
    }

    /// Skips spaces and tabs; says whether it skipped any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        self.at > start
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn error(&self, key: &str, message: &str) -> Error {
        Error::EnvFile {
            at: Position {
                file: self.path.to_path_buf(),
                line: self.line,
                column: self.column,
            },
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn key(&mut self) -> Result<String, Error> {
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                key.push(c);
                self.bump();
            } else {
                break;
            }
        }
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            let msg = match self.peek() {
                Some(c) if key.is_empty() => {
                    format!("unexpected '{c}' where a variable name should start")
                }
                _ => format!(
                    "'{key}' is not a variable name (letters, digits, '_', '.', '-'; not starting with a digit)"
                ),
            };
            return Err(self.error("", &msg));
        }
        Ok(key)
    }

    fn until_quote(&mut self, quote: char, key: &str) -> Result<String, Error> {
        let mut v = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => return Ok(v),
                Some(c) => v.push(c),
                None => return Err(self.error(key, &format!("missing closing {quote}"))),
            }
        }
    }

    fn double_quoted(&mut self, key: &str) -> Result<String, Error> {
        let mut v = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(v),
                Some('\\') => match self.bump() {
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    Some('t') => v.push('\t'),
                    Some('\\') => v.push('\\'),
                    Some('"') => v.push('"'),
                    // Kept escaped for the interpolation that follows, which turns
                    // `$$` into one literal `$`.
                    Some('$') => v.push_str("$$"),
                    Some(c) => {
                        v.push('\\');
                        v.push(c);
                    }
                    None => return Err(self.error(key, "missing closing \"")),
                },
                Some(c) => v.push(c),
                None => return Err(self.error(key, "missing closing \"")),
            }
        }
    }

    fn rest_is_comment(&mut self, key: &str) -> Result<(), Error> {
        self.skip_blanks();
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some('#') => {
                self.skip_line();
                Ok(())
            }
            Some(c) => Err(self.error(
                key,
                &format!("unexpected '{c}' after the closing quote (quote the whole value)"),
            )),
        }
    }

    fn unquoted(&mut self) -> String {
        let mut v = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' {
                self.bump();
                break;
            }
            if c == '#' && v.ends_with([' ', '\t']) {
                self.skip_line();
                break;
            }
            v.push(c);
            self.bump();
        }
        v.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_env_file(text, Path::new(".env")).unwrap()
    }

    #[test]
    fn syntax_table() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("A=1", &[("A", "1")]),
            ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
            ("# comment\n\n  A = 1  \n", &[("A", "1")]),
            ("export A=1", &[("A", "1")]),
            ("A=x # note", &[("A", "x")]),
            ("A=x#not-a-comment", &[("A", "x#not-a-comment")]),
            ("A= # only a comment", &[("A", "")]),
            ("A=", &[("A", "")]),
            ("A='single # kept $X \\n'", &[("A", "single # kept $X \\n")]),
            ("A=\"a\\nb\\t\\\"c\\\"\"", &[("A", "a\nb\t\"c\"")]),
            (
                "A=\"two\nlines\" # c\nB=2",
                &[("A", "two\nlines"), ("B", "2")],
            ),
            ("A=\"cost \\$5\"", &[("A", "cost $$5")]),
            (
                "A=postgres://u:p@db:5432/x?a=b",
                &[("A", "postgres://u:p@db:5432/x?a=b")],
            ),
            ("BARE\nA=1", &[("A", "1")]),
            ("A.b-c=1", &[("A.b-c", "1")]),
            ("A=1\nA=2", &[("A", "1"), ("A", "2")]),
        ];
        for (text, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(parse(text), want, "{text:?}");
        }
    }

    #[test]
    fn bare_keys_and_expansion_flags() {
        let e = parse_entries("A\nB='x'\nC=\"y\"\nD=z", Path::new(".env")).unwrap();
        assert_eq!(e[0].value, None);
        assert!(!e[1].expand);
        assert!(e[2].expand && e[3].expand);
        assert_eq!(e[3].line, 4);
    }

    #[test]
    fn errors_have_positions() {
        let cases = [
            ("A=1\nB=\"open", ".env:2:", "missing closing"),
            ("A=1\n1A=2", ".env:2:", "not a variable name"),
            ("A 1", ".env:1:3", "expected '='"),
            ("A='x' y", ".env:1:7", "after the closing quote"),
            ("=1", ".env:1:1", "where a variable name"),
        ];
        for (text, pos, msg) in cases {
            let e = parse_env_file(text, Path::new(".env"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(pos) && e.contains(msg), "{text:?}: {e}");
        }
    }
}
