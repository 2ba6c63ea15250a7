//! `.dockerignore` matching exactly as Docker reads it: moby's `ignorefile.ReadAll` for
//! the file and `patternmatcher` (`MatchesOrParentMatches`) for the paths.
//!
//! - one pattern per line; a UTF-8 byte order mark is dropped; a line starting with `#`
//!   is a comment (only in the first column); blank lines are skipped;
//! - `!` makes an exception that re-includes what an earlier pattern excluded;
//! - patterns are cleaned like Go's `filepath.Clean` and are relative to the context root
//!   (a leading `/` is dropped);
//! - each pattern is compiled once, as patternmatcher compiles it: to an exact, prefix
//!   (`dir/**`) or suffix (`**.pyc`, `**/x`) comparison, or to a regular expression
//!   where `*` is `[^/]*`, `?` is `[^/]`, `**` is `(.*/)?`, `[..]` is the regular
//!   expression's own class (so `[!x]` is `!` or `x`, and `[^x]` negates) and `\`
//!   escapes. The `regex` crate runs in linear time: no pattern can backtrack;
//! - a pattern also matches everything below a directory it matches;
//! - the last pattern that matches decides.
//!
//! Pure: no file system access.

use regex::Regex;

#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(Regex),
    /// Malformed for Go's `filepath.Match` (Docker refuses the build); matches nothing.
    Bad,
}

#[derive(Debug, Clone)]
struct Pattern {
    exception: bool,
    /// The cleaned pattern, as written after `!`.
    source: String,
    matcher: Matcher,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        // The matcher is a function of the source.
        self.exception == other.exception && self.source == other.source
    }
}

impl Eq for Pattern {}

/// The parsed contents of a `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerignore {
    patterns: Vec<Pattern>,
}

impl Dockerignore {
    pub fn parse(text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let patterns = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .filter_map(|line| {
                let (exception, raw) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let cleaned = clean(raw);
                // `.` names the context itself, which Docker never leaves out; a lone
                // `!` is an error for Docker and means nothing here.
                if cleaned.is_empty() || cleaned == "." {
                    return None;
                }
                Some(Pattern {
                    exception,
                    matcher: compile(&cleaned),
                    source: cleaned,
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

    /// The patterns Docker would refuse as malformed (they match nothing here).
    pub fn bad_patterns(&self) -> Vec<&str> {
        self.patterns
            .iter()
            .filter(|p| matches!(p.matcher, Matcher::Bad))
            .map(|p| p.source.as_str())
            .collect()
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out.
    /// As patternmatcher's `MatchesOrParentMatches`: the path as given, then each of
    /// its parent directories.
    pub fn is_excluded(&self, path: &str) -> bool {
        let parent = go_dir(path);
        let parents: Vec<String> = if parent == "." {
            Vec::new()
        } else {
            let dirs: Vec<&str> = parent.split('/').collect();
            (1..=dirs.len()).map(|n| dirs[..n].join("/")).collect()
        };
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exclusion can only change an included path, an exception an excluded one.
            if pattern.exception != excluded {
                continue;
            }
            let hit = pattern.matches(path) || parents.iter().any(|p| pattern.matches(p));
            if hit {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    // `**/foo` matches `foo`.
                    || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Matcher::Regex(re) => re.is_match(path),
            Matcher::Bad => false,
        }
    }
}

/// A pattern as `ignorefile.ReadAll` leaves it: Go's `filepath.Clean`, then a leading
/// `/` dropped.
fn clean(path: &str) -> String {
    let c = go_clean(path);
    match c.strip_prefix('/') {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => c,
    }
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // Above the root is the root; above a relative start is kept.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Dir`: everything before the last `/`, cleaned.
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => go_clean(&path[..=i]),
        None => ".".to_string(),
    }
}

/// patternmatcher's `compile`: the same walk over the pattern, the same match types.
fn compile(pattern: &str) -> Matcher {
    if !valid_for_filepath_match(pattern) {
        return Matcher::Bad;
    }
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut in_class = false;
    let mut i = 0;
    let mut step = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        if ch == '*' && !in_class {
            if chars.get(i) == Some(&'*') {
                i += 1;
                // `**/` is `**`.
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    // `**` at the end accepts everything, as in .gitignore.
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if step == 0 {
                    kind = Kind::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
        } else if ch == '?' && !in_class {
            re.push_str("[^/]");
            kind = Kind::Regex;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            match chars.get(i) {
                Some(&next) => {
                    i += 1;
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regex;
                }
                None => re.push_str("\\\\"),
            }
        } else if ch == '[' || ch == ']' {
            if in_class && ch == '[' {
                // Go's regexp reads `[` in a class as itself; Rust's would nest a class.
                re.push_str("\\[");
            } else {
                re.push(ch);
                in_class = ch == '[';
            }
            kind = Kind::Regex;
        } else if in_class && (ch == '&' || ch == '~') {
            // Literal in Go's classes; set operators (`&&`, `~~`) in Rust's.
            re.push('\\');
            re.push(ch);
        } else {
            re.push(ch);
        }
        step += 1;
    }
    match kind {
        Kind::Exact => Matcher::Exact(pattern.to_string()),
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
        Kind::Regex => {
            re.push('$');
            Regex::new(&re).map_or(Matcher::Bad, Matcher::Regex)
        }
    }
}

/// Whether Go's `filepath.Match` takes the pattern (moby checks with it first): every
/// `\` escapes something, and every class is closed, non-empty, with no unescaped `-`
/// at either end of a range and no range running backwards.
fn valid_for_filepath_match(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // One (possibly escaped) character of a class; `None` when malformed.
    let class_char = |i: &mut usize| -> Option<char> {
        let c = *chars.get(*i)?;
        if c == '-' || c == ']' {
            return None;
        }
        *i += 1;
        if c == '\\' {
            let e = *chars.get(*i)?;
            *i += 1;
            return Some(e);
        }
        Some(c)
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return false;
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    let Some(lo) = class_char(&mut i) else {
                        return false;
                    };
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        let Some(hi) = class_char(&mut i) else {
                            return false;
                        };
                        if hi < lo {
                            return false;
                        }
                    }
                    ranges += 1;
                }
            }
            _ => i += 1,
        }
    }
    true
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

    fn cases(section: &str) -> Vec<serde_json::Value> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/patternmatcher/cases.json");
        let all: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        all[section]["cases"].as_array().unwrap().clone()
    }

    /// moby/patternmatcher's own test tables (issue 16.12), as data.
    #[test]
    fn patternmatcher_test_tables() {
        let single = cases("matches");
        assert!(single.len() > 60);
        for c in &single {
            let (pattern, path, want) = (
                c[0].as_str().unwrap(),
                c[1].as_str().unwrap(),
                c[2].as_bool().unwrap(),
            );
            assert_eq!(
                Dockerignore::parse(pattern).is_excluded(path),
                want,
                "pattern {pattern:?} on {path:?}"
            );
        }
        for c in &cases("multi") {
            let patterns: Vec<&str> = c[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let (path, want) = (c[1].as_str().unwrap(), c[2].as_bool().unwrap());
            assert_eq!(
                Dockerignore::from_patterns(patterns.iter().copied()).is_excluded(path),
                want,
                "{patterns:?} on {path:?}"
            );
        }
        for c in &cases("filepath_match") {
            let (pattern, path) = (c[0].as_str().unwrap(), c[1].as_str().unwrap());
            let (want, bad) = (c[2].as_bool().unwrap(), c[3].as_bool().unwrap());
            let ig = Dockerignore::parse(pattern);
            assert_eq!(
                ig.is_excluded(path),
                want,
                "pattern {pattern:?} on {path:?}"
            );
            assert_eq!(
                !ig.bad_patterns().is_empty(),
                bad,
                "pattern {pattern:?} malformed?"
            );
        }
        for c in &cases("compile") {
            let (pattern, kind, regex) = (
                c[0].as_str().unwrap(),
                c[1].as_str().unwrap(),
                c[2].as_str().unwrap(),
            );
            match (compile(&clean(pattern)), kind) {
                (Matcher::Exact(_), "exactMatch")
                | (Matcher::Prefix(_), "prefixMatch")
                | (Matcher::Suffix(_), "suffixMatch") => {}
                (Matcher::Regex(re), "regexpMatch") => {
                    assert_eq!(re.as_str(), regex, "{pattern:?}")
                }
                (m, _) => panic!("{pattern:?}: {m:?}, want {kind}"),
            }
        }
    }

    /// Issue 16.12: the three differences found against the Docker CLI, and a pattern
    /// that backtracked (0.5 s on a 40-character name) runs in linear time.
    #[test]
    fn differences_from_docker_found_before() {
        // `[!x]` is a class of '!' and 'x' (Go has no `!` negation).
        let ig = Dockerignore::parse("a[!x]b");
        assert!(ig.is_excluded("a!b") && ig.is_excluded("axb") && !ig.is_excluded("ayb"));
        let ig = Dockerignore::parse("a[^x]b");
        assert!(ig.is_excluded("ayb") && !ig.is_excluded("axb"));
        // `**.env` is a suffix match at any depth: secrets stay out of the image.
        let ig = Dockerignore::parse("**.env");
        assert!(ig.is_excluded("prod.env") && ig.is_excluded("config/prod.env"));
        let ig = Dockerignore::parse("**.pyc");
        assert!(ig.is_excluded("a/b/c.pyc") && !ig.is_excluded("a/b/c.py"));
        // A pattern that makes a backtracking matcher exponential; the answer is all
        // this checks (the time is in benches/ territory), but a backtracking
        // implementation would not finish this test.
        let ig = Dockerignore::parse(&format!("{}b", "*a".repeat(30)));
        assert!(!ig.is_excluded(&"a".repeat(60)));
    }

    #[test]
    fn bom_comments_only_in_first_column_and_malformed_patterns() {
        let ig = Dockerignore::parse("\u{feff}secret\n #kept\n[\n");
        assert!(ig.is_excluded("secret"));
        assert!(ig.is_excluded("#kept"));
        assert_eq!(ig.bad_patterns(), ["["]);
    }

    #[test]
    fn watch_ignore_patterns_use_the_same_rules() {
        let ig = Dockerignore::from_patterns(["**/*.swp", "**/__pycache__"]);
        assert!(ig.is_excluded("src/.load.py.swp"));
        assert!(ig.is_excluded("src/__pycache__/load.cpython-312.pyc"));
        assert!(!ig.is_excluded("src/load.py"));
    }
}
