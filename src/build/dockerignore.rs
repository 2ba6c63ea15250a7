//! `.dockerignore` matching with Docker's own rules (moby/patternmatcher).
//!
//! - one pattern per line; blank lines and lines starting with `#` are skipped;
//! - `!` makes an exception that re-includes what an earlier pattern excluded;
//! - patterns are cleaned like Go's `filepath.Clean` and are relative to the context root
//!   (a leading `/` is dropped);
//! - `*` is any run of characters but `/`, `?` one character but `/`, `[..]` a class,
//!   `**` any number of directories, `\` escapes;
//! - a pattern also matches everything below a directory it matches;
//! - the last pattern that matches decides.
//!
//! Pure: no file system access.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: any run of non-separator characters.
    Star,
    /// `?`: one non-separator character.
    Any,
    /// `**/` or `**` in the middle: zero or more whole directories.
    Dirs,
    /// `**` at the end: anything.
    Rest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    exception: bool,
    tokens: Vec<Token>,
}

/// The parsed contents of a `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerignore {
    patterns: Vec<Pattern>,
}

impl Dockerignore {
    pub fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, raw) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let cleaned = clean(raw);
                if cleaned.is_empty() || cleaned == "." {
                    return None;
                }
                Some(Pattern {
                    exception,
                    tokens: tokenize(&cleaned),
                })
            })
            .collect();
        Self { patterns }
    }

    /// Patterns made from `ignore:` entries of a watch rule, same syntax.
    pub fn from_patterns<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        let text: Vec<&str> = patterns.into_iter().collect();
        Self::parse(&text.join("\n"))
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern is an exception; without one, an excluded directory need not
    /// be walked at all.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exclusion can only change an included path, an exception an excluded one.
            if pattern.exception != excluded {
                continue;
            }
            let hit = matches(&pattern.tokens, &path)
                || parents.iter().any(|p| matches(&pattern.tokens, p));
            if hit {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean` for `/`-separated relative paths, with the leading `/` dropped.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if i >= chars.len() {
                    tokens.push(Token::Rest);
                } else {
                    if chars[i] == '/' {
                        i += 1;
                    }
                    tokens.push(Token::Dirs);
                }
                continue;
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Literal(chars[i]));
            }
            '[' => {
                if let Some((class, next)) = parse_class(&chars, i) {
                    tokens.push(class);
                    i = next;
                    continue;
                }
                tokens.push(Token::Literal('['));
            }
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    tokens
}

/// `[abc]`, `[a-z]`, `[^x]`/`[!x]`; returns the token and the index after `]`.
fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('^') | Some('!'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let mut c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        if c == '\\' && i + 1 < chars.len() {
            i += 1;
            c = chars[i];
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            let mut end = chars[i + 2];
            i += 2;
            if end == '\\' && i + 1 < chars.len() {
                i += 1;
                end = chars[i];
            }
            ranges.push((c, end));
        } else {
            ranges.push((c, c));
        }
        i += 1;
    }
    None
}

fn matches(tokens: &[Token], path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    match_from(tokens, &chars)
}

fn match_from(tokens: &[Token], s: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match first {
        Token::Literal(c) => s.first() == Some(c) && match_from(rest, &s[1..]),
        Token::Any => s.first().is_some_and(|c| *c != '/') && match_from(rest, &s[1..]),
        Token::Class { negated, ranges } => {
            s.first().is_some_and(|c| {
                *c != '/' && ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
            }) && match_from(rest, &s[1..])
        }
        Token::Star => {
            let run = s.iter().take_while(|c| **c != '/').count();
            (0..=run).any(|n| match_from(rest, &s[n..]))
        }
        Token::Rest => true,
        Token::Dirs => {
            // Zero directories, or skip up to and including any later `/`.
            match_from(rest, s)
                || s.iter()
                    .enumerate()
                    .filter(|(_, c)| **c == '/')
                    .any(|(i, _)| match_from(rest, &s[i + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from Docker's documentation of `.dockerignore` and moby/patternmatcher's tests.
    #[test]
    fn docker_documented_cases() {
        let cases: &[(&str, &str, bool)] = &[
            // "# comment" is ignored
            ("# comment", "# comment", false),
            // */temp*: temp-prefixed entries one level down
            ("*/temp*", "somedir/temporary.txt", true),
            ("*/temp*", "somedir/temp", true),
            ("*/temp*", "temp.txt", false),
            ("*/temp*", "a/b/temp.txt", false),
            // */*/temp*: two levels down
            ("*/*/temp*", "somedir/subdir/temporary.txt", true),
            ("*/*/temp*", "somedir/temporary.txt", false),
            // temp?: one character
            ("temp?", "tempa", true),
            ("temp?", "tempab", false),
            ("temp?", "temp", false),
            // **/*.go anywhere, including the root
            ("**/*.go", "main.go", true),
            ("**/*.go", "pkg/x/y.go", true),
            ("**/*.go", "pkg/x/y.gox", false),
            // a directory excludes what is below it
            (".git", ".git/HEAD", true),
            ("node_modules", "web/node_modules/x", false),
            ("**/node_modules", "web/node_modules/x/y.js", true),
            ("__pycache__", "__pycache__/m.pyc", true),
            ("**/__pycache__", "src/__pycache__/m.pyc", true),
            ("*.pyc", "m.pyc", true),
            ("*.pyc", "src/m.pyc", false),
            ("**/*.pyc", "src/m.pyc", true),
            // leading slash and ./ are cleaned away
            ("/data", "data/x.csv", true),
            ("./data", "data/x.csv", true),
            ("data/", "data/x.csv", true),
            ("data/**", "data/a/b.csv", true),
            ("data/**", "database.txt", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/x/y/c", false),
            // classes and escapes
            ("[a-c]at", "bat", true),
            ("[a-c]at", "rat", false),
            ("[^a-c]at", "rat", true),
            ("\\*star", "*star", true),
            ("\\*star", "xstar", false),
            (".env", ".env", true),
            (".env", ".envrc", false),
        ];
        for (pattern, path, want) in cases {
            let ig = Dockerignore::parse(pattern);
            assert_eq!(
                ig.is_excluded(path),
                *want,
                "pattern {pattern:?} on {path:?}"
            );
        }
    }

    #[test]
    fn exceptions_reinclude_and_last_match_wins() {
        // Docker's example: all markdown except README files, but README-secret.md is out.
        let ig = Dockerignore::parse("*.md\n!README*.md\nREADME-secret.md\n");
        assert!(ig.is_excluded("CHANGES.md"));
        assert!(!ig.is_excluded("README.md"));
        assert!(!ig.is_excluded("README-public.md"));
        assert!(ig.is_excluded("README-secret.md"));

        // Order matters: the exception is overridden by the later, broader pattern.
        let ig = Dockerignore::parse("!README*.md\n*.md\n");
        assert!(ig.is_excluded("README.md"));

        // A file re-included inside an excluded directory.
        let ig = Dockerignore::parse("data\n!data/keep.csv\n");
        assert!(ig.is_excluded("data/x.csv"));
        assert!(!ig.is_excluded("data/keep.csv"));
        assert!(ig.has_exceptions());
    }

    #[test]
    fn blank_lines_comments_and_dot_are_ignored() {
        let ig = Dockerignore::parse("\n   \n# just a comment\n.\n");
        assert!(ig.is_empty());
        assert!(!ig.is_excluded("anything"));
    }

    #[test]
    fn watch_ignore_patterns_use_the_same_rules() {
        let ig = Dockerignore::from_patterns(["**/*.swp", "**/__pycache__"]);
        assert!(ig.is_excluded("src/.load.py.swp"));
        assert!(ig.is_excluded("src/__pycache__/load.cpython-312.pyc"));
        assert!(!ig.is_excluded("src/load.py"));
    }
}
