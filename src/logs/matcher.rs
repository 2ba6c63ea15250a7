//! What a search or a filter looks for: a case-insensitive literal or a regex.
//!
//! Compiles the user's pattern once; matching is on text without escapes. It must not
//! know which lines exist (the store keeps the match lists).

use std::ops::Range;

use regex::{Regex, RegexBuilder};

/// A compiled pattern. Both kinds compile to one [`Regex`] so matching has one fast path
/// (the regex crate turns a literal into a SIMD substring search).
#[derive(Debug, Clone)]
pub struct Matcher {
    pattern: String,
    is_regex: bool,
    re: Regex,
}

/// A pattern that did not compile, with the regex crate's explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{pattern}' is not a usable pattern: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// Caps the compiled size so a pathological pattern from the prompt cannot eat memory.
const SIZE_LIMIT: usize = 1 << 20;

impl Matcher {
    /// Case-insensitive substring. Fails only on a pattern too large to compile.
    pub fn literal(text: &str) -> Result<Self, PatternError> {
        let re = RegexBuilder::new(&regex::escape(text))
            .case_insensitive(true)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| PatternError {
                pattern: text.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pattern: text.to_string(),
            is_regex: false,
            re,
        })
    }

    /// A regex; case-insensitive unless the pattern has an upper-case letter (smart case,
    /// as in vim and ripgrep).
    pub fn regex(pattern: &str) -> Result<Self, PatternError> {
        let smart_ci = !pattern.chars().any(char::is_uppercase);
        let re = RegexBuilder::new(pattern)
            .case_insensitive(smart_ci)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| PatternError {
                pattern: pattern.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pattern: pattern.to_string(),
            is_regex: true,
            re,
        })
    }

    /// [`Self::regex`] when `is_regex`, else [`Self::literal`].
    pub fn new(pattern: &str, is_regex: bool) -> Result<Self, PatternError> {
        if is_regex {
            Self::regex(pattern)
        } else {
            Self::literal(pattern)
        }
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn is_regex(&self) -> bool {
        self.is_regex
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.re.is_match(text)
    }

    /// Byte ranges of the matches in `text`, empty matches left out (they cannot be
    /// highlighted and would make `n` stand still).
    pub fn find_ranges<'a>(&'a self, text: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
        self.re
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .map(|m| m.range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_is_case_insensitive_and_escapes_meta() {
        let m = Matcher::literal("err.or(").unwrap();
        assert!(m.is_match("an ERR.OR( here"));
        assert!(!m.is_match("an errXor( here"));
    }

    #[test]
    fn regex_smart_case() {
        assert!(Matcher::regex("fail(ed)?").unwrap().is_match("FAILED"));
        assert!(!Matcher::regex("Failed").unwrap().is_match("FAILED"));
        assert!(Matcher::regex("(").is_err());
    }

    #[test]
    fn ranges_skip_empty_matches() {
        let m = Matcher::regex("x*").unwrap();
        assert_eq!(m.find_ranges("axxb").collect::<Vec<_>>(), vec![1..3]);
    }
}
