//! A Dockerfile reader for the doctor: instructions with the line they start on, grouped
//! into stages. It is deliberately forgiving — the daemon is the judge of syntax; this only
//! needs to see what the checks look at (FROM, RUN, COPY, ENV, ARG, USER, HEALTHCHECK).

use std::collections::BTreeMap;

/// One instruction, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// Upper-cased keyword (`RUN`, `COPY`, …).
    pub keyword: String,
    /// Everything after the keyword, continuations joined with a space.
    pub args: String,
}

/// A `FROM` and the instructions under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub line: usize,
    /// The base as written after substituting global `ARG` defaults (and build args).
    pub base: String,
    /// `AS name`, lower-cased as Docker compares it.
    pub name: Option<String>,
    /// Whether `base` names an earlier stage rather than an image.
    pub from_stage: bool,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// `ARG`s before the first `FROM`.
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

/// Splits `text` into instructions: comments and blank lines dropped (also inside
/// continuations, as BuildKit does), `\` continuations joined, heredocs kept whole.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = lines[i].trim();
        if first.is_empty() || first.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut joined = String::new();
        loop {
            let l = lines[i].trim();
            if !(l.starts_with('#') || (l.is_empty() && i != start)) {
                if let Some(body) = l.strip_suffix('\\') {
                    joined.push_str(body.trim_end());
                    joined.push(' ');
                } else {
                    joined.push_str(l);
                    i += 1;
                    break;
                }
            }
            i += 1;
            if i >= lines.len() {
                break;
            }
        }
        if let Some(word) = heredoc_word(&joined) {
            while i < lines.len() {
                let l = lines[i];
                i += 1;
                joined.push('\n');
                joined.push_str(l);
                if l.trim() == word {
                    break;
                }
            }
        }
        let (keyword, args) = match joined.split_once(char::is_whitespace) {
            Some((k, a)) => (k, a.trim()),
            None => (joined.as_str(), ""),
        };
        out.push(Instruction {
            line: start + 1,
            keyword: keyword.to_ascii_uppercase(),
            args: args.to_string(),
        });
    }
    out
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` → `EOF`.
fn heredoc_word(args: &str) -> Option<String> {
    let at = args.find("<<")?;
    let rest = args[at + 2..].trim_start_matches('-');
    let rest = rest.trim_start_matches(['"', '\'']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')).then_some(word)
}

/// Parses `text`; `build_args` (the stack's `build.args`) override global `ARG` defaults.
pub fn parse(text: &str, build_args: &BTreeMap<String, String>) -> Dockerfile {
    let mut file = Dockerfile::default();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for ins in instructions(text) {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let base = substitute(words.first().copied().unwrap_or(""), &vars);
            let name = match words.as_slice() {
                [_, as_, name, ..] if as_.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            };
            let from_stage = file
                .stages
                .iter()
                .any(|s| s.name.as_deref() == Some(base.to_ascii_lowercase().as_str()));
            file.stages.push(Stage {
                line: ins.line,
                base,
                name,
                from_stage,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = file.stages.last_mut() {
            stage.instructions.push(ins);
        } else if ins.keyword == "ARG" {
            for (k, v) in assignments(&ins.args) {
                let value = build_args.get(&k).cloned().or(v).unwrap_or_default();
                vars.insert(k, value);
            }
            file.global_args.push(ins);
        }
    }
    file
}

/// `K=V K2="v 2" K3` (ENV/ARG forms), also the legacy `ENV K V`.
pub fn assignments(args: &str) -> Vec<(String, Option<String>)> {
    let words = split_words(args);
    if words.len() >= 2 && !words[0].contains('=') {
        // Legacy `ENV KEY value with spaces` (ARG never takes this form with 2+ words).
        let (k, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        return vec![(k.to_string(), Some(unquote(rest.trim())))];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(unquote(v))),
            None => (w, None),
        })
        .collect()
}

/// Words separated by whitespace, keeping quoted spans whole.
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    t.to_string()
}

/// `$X`, `${X}`, `${X:-d}` from `vars` (unknown names become empty, as Docker does).
fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match (vars.get(name), default) {
                (Some(v), _) if !v.is_empty() => out.push_str(v),
                (_, Some(d)) => out.push_str(d),
                (Some(v), None) => out.push_str(v),
                (None, None) => {}
            }
            rest = &body[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if let Some(v) = vars.get(&after[..len]) {
                out.push_str(v);
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// The source words of a `COPY`/`ADD` (flags and the destination left out), and its
/// `--from` stage if any.
pub fn copy_sources(args: &str) -> (Vec<String>, Option<String>) {
    let mut from = None;
    let trimmed = args.trim();
    let words: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).unwrap_or_default()
    } else {
        split_words(trimmed)
            .into_iter()
            .map(|w| unquote(&w))
            .collect()
    };
    let mut plain = Vec::new();
    for w in words {
        if let Some(f) = w.strip_prefix("--from=") {
            from = Some(f.to_ascii_lowercase());
        } else if !w.starts_with("--") {
            plain.push(w);
        }
    }
    plain.pop();
    (plain, from)
}
