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
    // compose-go skips a UTF-8 byte order mark (Windows editors write one).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut s = Scanner {
        chars: text.chars().filter(|c| *c != '\r').collect(),
        at: 0,
        line: 1,
        column: 1,
        path,
    };
    let mut out = Vec::new();
    loop {
        // A statement starts at the next non-space character; `#` there starts a
        // comment line.
        while s.peek().is_some_and(char::is_whitespace) {
            s.bump();
        }
        match s.peek() {
            None => break,
            Some('#') => {
                s.skip_line();
                continue;
            }
            Some(_) => {}
        }
        if s.starts_with("export") && s.chars.get(s.at + 6).is_some_and(|c| c.is_whitespace()) {
            for _ in 0..6 {
                s.bump();
            }
            while s.peek().is_some_and(is_blank) {
                s.bump();
            }
        }
        let line = s.line;
        let (key, inherited) = s.key()?;
        if inherited {
            out.push(EnvEntry {
                key,
                value: None,
                expand: false,
                line,
            });
            continue;
        }
        while s.peek().is_some_and(is_blank) {
            s.bump();
        }
        let (value, expand) = match s.peek() {
            Some(q @ ('\'' | '"')) => {
                s.bump();
                let raw = s.quoted(q, &key)?;
                if q == '"' {
                    (expand_escapes(&raw), true)
                } else {
                    (raw, false)
                }
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

/// compose-go's "space" inside a line: blanks, but not a line break.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// The escapes compose-go expands in double quotes: `\a \b \f \n \r \t \v \\ \"`,
/// `\$` (kept as `$$` for the interpolation that follows, which makes it one literal
/// `$`) and `\0` with up to three octal digits. Any other backslash stays as written.
fn expand_escapes(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c != '\\' || next.is_none() {
            out.push(c);
            i += 1;
            continue;
        }
        let simple = match next {
            Some('a') => Some("\u{7}"),
            Some('b') => Some("\u{8}"),
            Some('f') => Some("\u{c}"),
            Some('n') => Some("\n"),
            Some('r') => Some("\r"),
            Some('t') => Some("\t"),
            Some('v') => Some("\u{b}"),
            Some('\\') => Some("\\"),
            Some('"') => Some("\""),
            Some('$') => Some("$$"),
            _ => None,
        };
        if let Some(r) = simple {
            out.push_str(r);
            i += 2;
            continue;
        }
        if next == Some('0') {
            // `\0` and up to three digits is one match; Go then reads `\ddd` (exactly
            // three octal digits, at most 255) and keeps the match as written otherwise.
            let digits: String = chars[i + 2..]
                .iter()
                .take(3)
                .take_while(|d| d.is_ascii_digit())
                .collect();
            let len = 2 + digits.chars().count();
            let octal = (digits.len() == 3)
                .then(|| u32::from_str_radix(&digits, 8).ok())
                .flatten()
                .filter(|v| *v <= 255)
                .and_then(char::from_u32);
            match octal {
                Some(ch) => out.push(ch),
                None => out.extend(&chars[i..i + len]),
            }
            i += len;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
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

    /// The name up to `=`, `:` (YAML style) or the end of the line (a bare name, whose
    /// value comes from the environment). As compose-go: letters and digits of any
    /// script, `_ . - [ ]`; a name may start with a digit, and may be empty (`="v"`).
    fn key(&mut self) -> Result<(String, bool), Error> {
        let mut key = String::new();
        loop {
            match self.peek() {
                Some('=' | ':') => {
                    self.bump();
                    break;
                }
                Some('\n') => {
                    let named = self.named(key, true);
                    self.bump();
                    return named;
                }
                // A bare name on the last line, without a line break.
                None => return self.named(key, true),
                Some(c)
                    if is_blank(c)
                        || c.is_alphanumeric()
                        || matches!(c, '_' | '.' | '-' | '[' | ']') =>
                {
                    key.push(c);
                    self.bump();
                }
                Some(c) => {
                    let line: String = key
                        .chars()
                        .chain(
                            self.chars[self.at..]
                                .iter()
                                .copied()
                                .take_while(|c| *c != '\n'),
                        )
                        .collect();
                    return Err(self.error(
                        "",
                        &format!(
                            "unexpected character '{c}' in variable name '{}' (letters, digits, '_', '.', '-', '[', ']')",
                            line.trim()
                        ),
                    ));
                }
            }
        }
        self.named(key, false)
    }

    fn named(&self, key: String, inherited: bool) -> Result<(String, bool), Error> {
        let key = key.trim_end().to_string();
        if key.contains(' ') {
            return Err(self.error(&key, "a variable name cannot contain a space"));
        }
        Ok((key, inherited))
    }

    /// After the opening quote: through the closing one. A backslash escapes the quote;
    /// any other escape is kept as written (double quotes expand it afterwards).
    fn quoted(&mut self, quote: char, key: &str) -> Result<String, Error> {
        let (line, column) = (self.line, self.column);
        let mut v = String::new();
        let mut escaped = false;
        while let Some(c) = self.bump() {
            if c == quote && !escaped {
                return Ok(v);
            }
            if c == '\\' && !escaped {
                escaped = true;
                continue;
            }
            if escaped && c != quote {
                v.push('\\');
            }
            escaped = false;
            v.push(c);
        }
        let mut e = self.error(
            key,
            &format!("unterminated quoted value (missing closing {quote})"),
        );
        if let Error::EnvFile { at, .. } = &mut e {
            at.line = line;
            at.column = column.saturating_sub(1).max(1);
        }
        Err(e)
    }

    /// To the end of the line, without a ` #` comment and trailing space.
    fn unquoted(&mut self) -> String {
        let mut v = String::new();
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
            v.push(c);
        }
        if let Some(i) = v.find(" #") {
            v.truncate(i);
        }
        v.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
            // compose-go cuts comments at ' #' only: right after '=' it is the value.
            ("A= # not a comment", &[("A", "# not a comment")]),
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
            // Issue 16.5: each of these rejected the whole file.
            ("\u{feff}A=1", &[("A", "1")]),
            ("K='Let\\'s go'", &[("K", "Let's go")]),
            ("K: v", &[("K", "v")]),
            ("1K=v", &[("1K", "v")]),
            ("=\"v\"", &[("", "v")]),
            (
                "K=\"\\a\\b\\f\\v\\0101\"",
                &[("K", "\u{7}\u{8}\u{c}\u{b}A")],
            ),
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
        let e = parse_entries("A\nB='x'\nC=\"y\"\nD=z\nE", Path::new(".env")).unwrap();
        assert_eq!(e[0].value, None);
        assert!(!e[1].expand);
        assert!(e[2].expand && e[3].expand);
        assert_eq!(e[3].line, 4);
        assert_eq!((e[4].key.as_str(), e[4].value.as_ref()), ("E", None));
    }

    #[test]
    fn errors_have_positions() {
        let cases = [
            ("A=1\nB=\"open", ".env:2:3", "unterminated quoted value"),
            ("A=1\nA$B=2", ".env:2:2", "unexpected character '$'"),
            ("A 1", ".env:1:4", "cannot contain a space"),
        ];
        for (text, pos, msg) in cases {
            let e = parse_env_file(text, Path::new(".env"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(pos) && e.contains(msg), "{text:?}: {e}");
        }
    }

    fn data(rel: &str) -> serde_json::Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/dotenv")
            .join(rel);
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    }

    fn strings(v: Option<&serde_json::Value>) -> BTreeMap<String, String> {
        v.and_then(|v| v.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// compose-go's dotenv fixtures, with the values its tests expect (issue 16.5).
    #[test]
    fn compose_go_dotenv_fixtures() {
        let expected = data("expected.json");
        let cases = expected.as_object().unwrap();
        assert!(cases.len() >= 16);
        for (name, case) in cases {
            let file = case.get("file").and_then(|f| f.as_str()).unwrap_or(name);
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/dotenv/fixtures")
                .join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            let env = strings(case.get("env"));
            let got = super::super::resolve::read_env(&text, &path, &env);
            if let Some(err) = case.get("error").and_then(|e| e.as_str()) {
                let e = got.expect_err(name).to_string();
                let text = case["error_text"].as_str().unwrap();
                assert!(e.contains(err) && e.contains(text), "{name}: {e}");
                continue;
            }
            let got: BTreeMap<String, String> = got
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .into_iter()
                .collect();
            assert_eq!(got, strings(case.get("values")), "{name}");
        }
    }

    /// The one-line cases of compose-go's parser tests.
    #[test]
    fn compose_go_dotenv_lines() {
        let cases = data("lines.json");
        let cases = cases.as_array().unwrap();
        assert!(cases.len() > 60);
        for case in cases {
            let input = case[0].as_str().unwrap();
            let got = super::super::resolve::read_env(input, Path::new(".env"), &BTreeMap::new());
            match case[1].as_str() {
                Some(key) => {
                    let got = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                    let value = got
                        .iter()
                        .rev()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str());
                    assert_eq!(value, case[2].as_str(), "{input:?}");
                }
                None => {
                    let e = got.expect_err(input).to_string();
                    assert!(e.contains(case[2].as_str().unwrap()), "{input:?}: {e}");
                }
            }
        }
    }
}
