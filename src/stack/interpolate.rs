//! Compose variable interpolation in a string: `$VAR`, `${VAR}`, `${VAR:-d}`,
//! `${VAR-d}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+alt}`, `${VAR+alt}`, nesting in
//! the default/alternative/message, and `$$` for a literal `$`. As in Compose, a `$`
//! followed by neither a name, `{` nor `$` is itself (`costs 5$`, `^foo$`, `$1`).
//!
//! Pure: variables come from the caller's lookup. It must not read the process
//! environment, nor know which parts of a file are values (the loader decides that).

use super::error::InterpolationError;

/// The deepest nesting of `${…}` inside a default, alternative or message. Compose has
/// no limit, but 50k levels overflowed the stack (SIGABRT); real files nest two or three.
pub(crate) const MAX_NESTING: usize = 64;

/// Expands `s`. Unset variables without a default become empty strings (as in Compose);
/// see [`interpolate_tracking`] to learn which.
pub fn interpolate(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    interpolate_tracking(s, lookup, &mut Vec::new())
}

/// As [`interpolate`], also pushing onto `unset` every variable that was used without a
/// default while unset, so the loader can warn as Compose does.
pub(crate) fn interpolate_tracking(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut p = Expander {
        text: s,
        chars: s.chars().collect(),
        at: 0,
        lookup,
        unset,
        depth: 0,
    };
    p.expand(false, true)
}

struct Expander<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: &'a mut Vec<String>,
    depth: usize,
}

impl Expander<'_> {
    fn syntax(&self, message: &str) -> InterpolationError {
        // A hostile value can be megabytes long; the start is enough to find it.
        let text = match self.text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &self.text[..cut]),
            None => self.text.to_string(),
        };
        InterpolationError::Syntax {
            text,
            message: message.to_string(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// Expands until the end, or until the `}` closing a `${…}` when `in_brace`.
    /// With `eval` false it only parses: an unused default must neither fail on its
    /// own `:?` nor warn about its variables.
    fn expand(&mut self, in_brace: bool, eval: bool) -> Result<String, InterpolationError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                if in_brace {
                    return Err(self.syntax("missing closing '}'"));
                }
                return Ok(out);
            };
            if c == '}' && in_brace {
                self.at += 1;
                return Ok(out);
            }
            if c != '$' {
                out.push(c);
                self.at += 1;
                continue;
            }
            match self.peek(1) {
                Some('$') => {
                    out.push('$');
                    self.at += 2;
                }
                Some('{') => {
                    self.at += 2;
                    out.push_str(&self.braced(eval)?);
                }
                Some(n) if is_name_start(n) => {
                    self.at += 1;
                    let name = self.name();
                    out.push_str(&self.plain(&name, eval));
                }
                _ => {
                    out.push('$');
                    self.at += 1;
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek(0) {
            if (name.is_empty() && is_name_start(c)) || (!name.is_empty() && is_name_char(c)) {
                name.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        name
    }

    fn plain(&mut self, name: &str, eval: bool) -> String {
        if !eval {
            return String::new();
        }
        match (self.lookup)(name) {
            Some(v) => v,
            None => {
                if !self.unset.iter().any(|u| u == name) {
                    self.unset.push(name.to_string());
                }
                String::new()
            }
        }
    }

    /// After `${`: the name, an optional operator and its argument, through `}`.
    fn braced(&mut self, eval: bool) -> Result<String, InterpolationError> {
        if self.depth >= MAX_NESTING {
            return Err(self.syntax(&format!(
                "'${{' is nested more than {MAX_NESTING} levels deep"
            )));
        }
        self.depth += 1;
        let r = self.braced_inner(eval);
        self.depth -= 1;
        r
    }

    fn braced_inner(&mut self, eval: bool) -> Result<String, InterpolationError> {
        let name = self.name();
        if name.is_empty() {
            return Err(self.syntax("'${' must be followed by a variable name"));
        }
        let colon = self.peek(0) == Some(':');
        let op_at = if colon { 1 } else { 0 };
        let op = match self.peek(op_at) {
            Some('}') if !colon => {
                self.at += 1;
                return Ok(self.plain(&name, eval));
            }
            Some(op @ ('-' | '?' | '+')) => op,
            _ => {
                return Err(self.syntax(&format!(
                    "after '${{{name}' expected '}}', ':-', '-', ':?', '?', ':+' or '+'"
                )));
            }
        };
        self.at += op_at + 1;
        let value = if eval { (self.lookup)(&name) } else { None };
        let is_set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let present = if colon { non_empty } else { is_set };
        match op {
            '-' => {
                let default = self.expand(true, eval && !present)?;
                Ok(if present {
                    value.unwrap_or_default()
                } else {
                    default
                })
            }
            '+' => {
                let alt = self.expand(true, eval && present)?;
                Ok(if present { alt } else { String::new() })
            }
            _ => {
                let message = self.expand(true, eval && !present)?;
                if eval && !present {
                    let message = if message.is_empty() {
                        if colon {
                            "it is empty or unset".to_string()
                        } else {
                            "it is unset".to_string()
                        }
                    } else {
                        message
                    };
                    return Err(InterpolationError::Required {
                        variable: name,
                        message,
                    });
                }
                Ok(value.unwrap_or_default())
            }
        }
    }
}

/// A `$` that Compose keeps as a literal but that looks like a mistyped variable
/// (`$ {NAME}`): the text to warn about, if any.
pub(crate) fn typo_hint(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        if b[i] == b'$' {
            let gap = b[i + 1..]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t'))
                .count();
            if gap > 0 && b.get(i + 1 + gap) == Some(&b'{') {
                let end = b[i..]
                    .iter()
                    .position(|c| *c == b'}')
                    .map_or(b.len(), |p| i + p + 1);
                return Some(String::from_utf8_lossy(&b[i..end]).into_owned());
            }
        }
        i += 1;
    }
    None
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "SET" => Some("v".into()),
            "EMPTY" => Some(String::new()),
            "B" => Some("b".into()),
            _ => None,
        }
    }

    #[test]
    fn forms() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("$SET", "v"),
            ("${SET}", "v"),
            ("x${SET}y", "xvy"),
            ("$SET.x", "v.x"),
            ("$UNSET", ""),
            ("${UNSET}", ""),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:-d}", "v"),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${SET:?boom}", "v"),
            ("${EMPTY?boom}", ""),
            ("${UNSET:-${B:-x}}", "b"),
            ("${UNSET:-${NOPE:-x}}", "x"),
            ("${SET:-${NOPE:?never}}", "v"),
            ("$$", "$"),
            ("$${SET}", "${SET}"),
            ("a $$b", "a $b"),
            ("${UNSET:-a:b/c}", "a:b/c"),
            // Issue 16.3: a `$` without a name after it is a literal, as in Compose.
            ("costs 5$", "costs 5$"),
            ("pa$ word", "pa$ word"),
            ("^foo$", "^foo$"),
            ("$1", "$1"),
            ("$ {SET}", "$ {SET}"),
            ("a$-b$.c$@", "a$-b$.c$@"),
            ("${UNSET:-5$}", "5$"),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &env).as_deref(), Ok(*want), "{input}");
        }
    }

    #[test]
    fn required_and_syntax_errors() {
        assert_eq!(
            interpolate("${UNSET:?set UNSET please}", &env),
            Err(InterpolationError::Required {
                variable: "UNSET".into(),
                message: "set UNSET please".into()
            })
        );
        assert!(matches!(
            interpolate("${EMPTY:?}", &env),
            Err(InterpolationError::Required { .. })
        ));
        assert!(matches!(
            interpolate("${UNSET?${B}}", &env),
            Err(InterpolationError::Required { message, .. }) if message == "b"
        ));
        for bad in ["${", "${SET", "${}", "${SET!x}", "${1}", "${A:-x"] {
            assert!(
                matches!(
                    interpolate(bad, &env),
                    Err(InterpolationError::Syntax { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn typo_hints_only_for_a_spaced_brace() {
        assert_eq!(
            typo_hint("pw $ {DB_PASS} x").as_deref(),
            Some("$ {DB_PASS}")
        );
        assert_eq!(typo_hint("costs 5$"), None);
        assert_eq!(typo_hint("^foo$ {"), Some("$ {".into()));
        assert_eq!(typo_hint("$$ {x}"), None);
        assert_eq!(typo_hint("${X}"), None);
    }

    /// Issue 11.5: 50k nested defaults overflowed the stack (SIGABRT).
    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}x{}", "${X:-".repeat(50_000), "}".repeat(50_000));
        match interpolate(&deep, &env) {
            Err(InterpolationError::Syntax { message, .. }) => {
                assert!(message.contains("nested more than 64"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let ok = format!(
            "{}x{}",
            "${X:-".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert_eq!(interpolate(&ok, &env).as_deref(), Ok("x"));
    }

    #[test]
    fn tracks_unset_once() {
        let mut unset = Vec::new();
        interpolate_tracking("$A ${A} ${B} ${C:-x}", &env, &mut unset).unwrap();
        assert_eq!(unset, vec!["A".to_string()]);
    }
}
