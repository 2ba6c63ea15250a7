//! The only file that knows the YAML libraries: text in, a positioned [`Node`] tree out,
//! and a JSON value out as YAML text for `config`.
//!
//! serde_yaml gives the values and decides which files are YAML at all (its errors, its
//! duplicate-key and alias checks). It does not keep positions, so one pass of
//! libyaml-safer's event parser gives the line and column of every key and value and
//! the source text of plain scalars. libyaml-safer is a line-by-line safe port of the
//! libyaml (`unsafe-libyaml`) that serde_yaml itself parses with, so both passes read a
//! file by one grammar: a file serde_yaml accepts always has positions (the old
//! yaml-rust2 pass disagreed on a flow sequence closed at a lower indent, and then every
//! message said line 1). Compose reads plain scalars with go-yaml v3's rules, so those
//! are resolved here from their source text (see [`resolve_plain`]). Nothing here knows
//! Compose keys.

use std::collections::HashMap;
use std::rc::Rc;

use libyaml_safer::{EventData, Parser, ScalarStyle};

use super::node::{Entry, Mark, Node, Value};

/// A YAML syntax error: 1-based position and the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub mark: Mark,
    pub message: String,
}

/// The deepest nesting of sequences and mappings accepted. serde_yaml refuses more than
/// 128 levels itself, but only after libyaml scanned the whole text, which takes time
/// quadratic in the depth (50k levels of `[` took 44 s); the event pass stops here
/// instead, so such a file fails in microseconds.
pub(crate) const MAX_DEPTH: usize = 128;

/// Parses one YAML document. Aliases are expanded; `<<` merge keys are left for
/// `node::apply_merges`; a key tagged `!reset` is dropped (so a `<<` merge can supply
/// it, as in Compose).
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let marks = match marks_of(text) {
        Ok(m) => m,
        Err(Scan::TooDeep(mark)) => {
            return Err(SyntaxError {
                mark,
                message: format!(
                    "sequences and mappings are nested more than {MAX_DEPTH} levels deep"
                ),
            });
        }
        // The same grammar: serde_yaml below reports this error in its own words. Should
        // the two ever disagree, the file still loads, only without positions.
        Err(Scan::Syntax) => None,
    };
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let mark = e
            .location()
            .map(|l| Mark {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or(Mark { line: 1, column: 1 });
        let full = e.to_string();
        // serde_yaml appends " at line L column C"; the position is reported separately.
        let message = match full.find(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        SyntaxError { mark, message }
    })?;
    Ok(zip(value, marks.as_deref()))
}

/// A JSON value written as YAML (for `config`).
pub(crate) fn to_yaml(value: &serde_json::Value) -> String {
    // Serialising a serde_json::Value cannot fail: it has only string keys and no
    // non-finite numbers a YAML emitter would reject; an empty string is a safe fallback.
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Positions (and plain scalars' text) only, in the shape of the document. Shared
/// through `Rc` so an alias costs one pointer, however often it is used.
#[derive(Debug)]
enum Marks {
    /// The source text when the scalar is plain and untagged (its type is then
    /// resolved from the text).
    Scalar(Mark, Option<String>),
    Seq(Mark, Vec<Rc<Marks>>),
    Map(Mark, Vec<(Rc<Marks>, Rc<Marks>)>),
}

impl Marks {
    fn mark(&self) -> Mark {
        match self {
            Marks::Scalar(m, _) | Marks::Seq(m, _) | Marks::Map(m, _) => *m,
        }
    }
}

enum Scan {
    TooDeep(Mark),
    Syntax,
}

fn to_mark(m: libyaml_safer::Mark) -> Mark {
    Mark {
        line: usize::try_from(m.line).unwrap_or(usize::MAX - 1) + 1,
        column: usize::try_from(m.column).unwrap_or(usize::MAX - 1) + 1,
    }
}

/// An open collection while its events arrive.
enum Open {
    Seq(Mark, Option<String>, Vec<Rc<Marks>>),
    /// Keys and values alternate; a pending key waits for its value.
    Map(
        Mark,
        Option<String>,
        Vec<(Rc<Marks>, Rc<Marks>)>,
        Option<Rc<Marks>>,
    ),
}

/// The first document's positions; `Ok(None)` for an empty stream.
fn marks_of(text: &str) -> Result<Option<Rc<Marks>>, Scan> {
    let text = around_port_bugs(text);
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<String, Rc<Marks>> = HashMap::new();
    loop {
        let event = parser.parse().map_err(|_| Scan::Syntax)?;
        let m = to_mark(event.start_mark);
        let (done, anchor) = match event.data {
            EventData::StreamEnd => return Ok(None),
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let plain = (style == ScalarStyle::Plain && tag.is_none()).then_some(value);
                (Rc::new(Marks::Scalar(m, plain)), anchor)
            }
            EventData::Alias { anchor } => {
                let done = anchors
                    .get(&anchor)
                    .cloned()
                    .unwrap_or_else(|| Rc::new(Marks::Scalar(m, None)));
                (done, None)
            }
            EventData::SequenceStart { anchor, .. } => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Scan::TooDeep(m));
                }
                stack.push(Open::Seq(m, anchor, Vec::new()));
                continue;
            }
            EventData::MappingStart { anchor, .. } => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Scan::TooDeep(m));
                }
                stack.push(Open::Map(m, anchor, Vec::new(), None));
                continue;
            }
            EventData::SequenceEnd | EventData::MappingEnd => match stack.pop() {
                Some(Open::Seq(m, anchor, items)) => (Rc::new(Marks::Seq(m, items)), anchor),
                Some(Open::Map(m, anchor, pairs, _)) => (Rc::new(Marks::Map(m, pairs)), anchor),
                None => return Err(Scan::Syntax),
            },
            EventData::StreamStart { .. }
            | EventData::DocumentStart { .. }
            | EventData::DocumentEnd { .. } => continue,
        };
        if let Some(a) = anchor {
            anchors.insert(a, done.clone());
        }
        match stack.last_mut() {
            Some(Open::Seq(_, _, items)) => items.push(done),
            Some(Open::Map(_, _, pairs, pending)) => match pending.take() {
                Some(key) => pairs.push((key, done)),
                None => *pending = Some(done),
            },
            // The first document's root; later documents are serde_yaml's to refuse.
            None => return Ok(Some(done)),
        }
    }
}

/// The text for the event pass, changed (never in length, so positions hold) where
/// libyaml-safer 0.3 panics though libyaml reads on: a backslash as the last character
/// of a double-quoted scalar at the very end of the input (a line break is added), and
/// a tag directly followed by `,` (`[!x, y]`; the comma becomes a space, which only
/// costs that collection its positions — values come from serde_yaml).
fn around_port_bugs(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let tag_comma = (0..b.len()).any(|i| b[i] == b',' && after_tag(b, i));
    if !tag_comma && text.ends_with('\n') {
        return text.into();
    }
    let mut out: Vec<u8> = b.to_vec();
    for i in 0..b.len() {
        if b[i] == b',' && after_tag(b, i) {
            out[i] = b' ';
        }
    }
    out.push(b'\n');
    // Only ASCII bytes were replaced, so the text is still UTF-8.
    String::from_utf8(out).map_or_else(|_| text.into(), Into::into)
}

/// Whether the `,` at `i` directly ends a tag token (`!x,`): the scanner starts a token
/// after a blank or a flow indicator, after a `?`/`:` indicator, after a quoted scalar
/// and after an anchor or alias name. Erring towards yes only replaces a comma inside a
/// quoted scalar, which changes no structure.
fn after_tag(b: &[u8], i: usize) -> bool {
    let run_start = b[..i]
        .iter()
        .rposition(|c| {
            matches!(
                c,
                b' ' | b'\t' | b'\n' | b'\r' | b'[' | b']' | b'{' | b'}' | b','
            )
        })
        .map_or(0, |p| p + 1);
    // A quoted scalar may have begun before the run (it can hold blanks).
    if (run_start + 1..i).any(|p| b[p] == b'!' && matches!(b[p - 1], b'"' | b'\'')) {
        return true;
    }
    let mut p = run_start;
    while p < i {
        match b[p] {
            b'!' => return true,
            b'?' | b':' => p += 1,
            q @ (b'"' | b'\'') => match b[p + 1..i].iter().position(|c| *c == q) {
                Some(close) => p += close + 2,
                None => return false,
            },
            b'&' | b'*' => {
                p += 1;
                while p < i && (b[p].is_ascii_alphanumeric() || matches!(b[p], b'-' | b'_')) {
                    p += 1;
                }
            }
            _ => return false,
        }
    }
    false
}

fn key_string(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Null => "null".to_string(),
        serde_yaml::Value::Tagged(t) => key_string(&t.value),
        // A collection as a key has no place in a Compose file; its YAML text names it.
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn is_reset(v: &serde_yaml::Value) -> bool {
    matches!(v, serde_yaml::Value::Tagged(t) if t.tag == "reset")
}

fn zip(value: serde_yaml::Value, marks: Option<&Marks>) -> Node {
    let mark = marks.map(Marks::mark).unwrap_or_default();
    let v = match value {
        serde_yaml::Value::Null
        | serde_yaml::Value::Bool(_)
        | serde_yaml::Value::Number(_)
        | serde_yaml::Value::String(_) => match (marks, value) {
            (Some(Marks::Scalar(_, Some(text))), _) => resolve_plain(text),
            (_, serde_yaml::Value::Null) => Value::Null,
            (_, serde_yaml::Value::Bool(b)) => Value::Bool(b),
            (_, serde_yaml::Value::Number(n)) => number(&n),
            (_, serde_yaml::Value::String(s)) => Value::String(s),
            // Unreachable: the outer match took only scalars.
            (_, _) => Value::Null,
        },
        // `!override` means nothing within one file: the value under the tag is what
        // the file says. (`!reset` on a mapping key is dropped with its key, below.)
        serde_yaml::Value::Tagged(t) => return zip(t.value, marks),
        serde_yaml::Value::Sequence(items) => {
            let child = match marks {
                Some(Marks::Seq(_, c)) if c.len() == items.len() => Some(c),
                _ => None,
            };
            Value::Seq(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| zip(item, child.and_then(|c| c.get(i)).map(|m| &**m)))
                    .collect(),
            )
        }
        serde_yaml::Value::Mapping(map) => {
            let child = match marks {
                Some(Marks::Map(_, c)) if c.len() == map.len() => Some(c),
                _ => None,
            };
            Value::Map(
                map.into_iter()
                    .enumerate()
                    .filter(|(_, (_, v))| !is_reset(v))
                    .map(|(i, (k, v))| {
                        let pair = child.and_then(|c| c.get(i));
                        Entry {
                            key: key_string(&k),
                            key_mark: pair.map(|p| p.0.mark()).unwrap_or_default(),
                            value: zip(v, pair.map(|p| &*p.1)),
                        }
                    })
                    .collect(),
            )
        }
    };
    Node::new(v, mark)
}

fn number(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// JSON has no infinities or NaN; Compose writes them as Go prints them.
fn float(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("+Inf".into()),
        None => Value::String("-Inf".into()),
    }
}

/// A float as text the way Compose writes it into a string field (Go's `%v`: the
/// shortest digits, in exponent form below 1e-4 and from 1e6 up): `1e3` is `1000`, `1e6`
/// is `1e+06`.
pub(crate) fn go_float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits too: `1.23456789e8`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        f.to_string()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// A plain, untagged scalar read as go-yaml v3 (Compose's YAML library) reads it: YAML
/// 1.2 booleans and nulls (`yes`/`on` stay strings), `_` ignored in numbers, `010` and
/// `0o10` octal, `0x`/`0b` prefixes, `.inf`/`.nan`, and YAML 1.2 floats.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return float(f64::NAN),
        _ => {}
    }
    let string = || Value::String(text.to_string());
    match text.as_bytes()[0] {
        b'.' => match text.parse::<f64>() {
            Ok(f) if yaml_float(text) => float(f),
            _ => string(),
        },
        b'0'..=b'9' | b'+' | b'-' => {
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            if let Some(v) = go_int(&plain) {
                return v;
            }
            if yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return float(f);
            }
            string()
        }
        _ => string(),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: sign, `0x`/`0o`/`0b` prefixes
/// and a leading `0` for octal.
fn go_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = i128::try_from(magnitude).ok().map(|m| -m)?;
        i64::try_from(v).ok().map(|i| Value::Number(i.into()))
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Value::Number(i.into()))
    } else {
        u64::try_from(magnitude)
            .ok()
            .map(|u| Value::Number(u.into()))
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_values_and_aliases() {
        let text = "a: &x\n  b: 1\nc:\n  - *x\n  - \"s\"\n";
        let n = parse(text).unwrap();
        let a = &n.as_map().unwrap()[0];
        assert_eq!(a.key_mark, Mark { line: 1, column: 1 });
        let b = &a.value.as_map().unwrap()[0];
        assert_eq!(b.key_mark, Mark { line: 2, column: 3 });
        assert_eq!(b.value.mark, Mark { line: 2, column: 6 });
        let Value::Seq(items) = &n.get("c").unwrap().value else {
            panic!()
        };
        // The alias carries the anchor's positions.
        assert_eq!(items[0].as_map().unwrap()[0].key_mark.line, 2);
        assert_eq!(items[1].mark, Mark { line: 5, column: 5 });
    }

    #[test]
    fn syntax_error_has_location() {
        let e = parse("a: b\n  c: d\n").unwrap_err();
        assert_eq!(e.mark.line, 2);
        assert!(!e.message.contains("at line"), "{}", e.message);
    }

    /// Regression (issue 16.11): yaml-rust2 refused a flow sequence closed at a lower
    /// indent than its items, and every position after it fell back to line 1.
    #[test]
    fn flow_sequence_closed_at_lower_indent_keeps_positions() {
        let text =
            "services:\n  web:\n    command: [\n      \"a\",\n      \"b\"\n    ]\n    image: x\n";
        let n = parse(text).unwrap();
        let web = n.get("services").unwrap().get("web").unwrap();
        let cmd = &web.as_map().unwrap()[0];
        assert_eq!(cmd.key_mark, Mark { line: 3, column: 5 });
        let Value::Seq(items) = &cmd.value.value else {
            panic!()
        };
        assert_eq!(items[1].mark, Mark { line: 5, column: 7 });
        assert_eq!(
            web.as_map().unwrap()[1].key_mark,
            Mark { line: 7, column: 5 }
        );
    }

    fn scalar(text: &str) -> Value {
        parse(&format!("k: {text}\n"))
            .unwrap()
            .get("k")
            .unwrap()
            .value
            .clone()
    }

    fn num(s: &str) -> Value {
        Value::Number(serde_json::from_str(s).unwrap())
    }

    /// Each expectation was read off `docker-compose config` (v2.40.3, go-yaml v3).
    #[test]
    fn plain_scalars_resolve_as_go_yaml_v3() {
        assert_eq!(scalar(".inf"), Value::String("+Inf".into()));
        assert_eq!(scalar("-.Inf"), Value::String("-Inf".into()));
        assert_eq!(scalar(".nan"), Value::String("NaN".into()));
        assert_eq!(scalar("010"), num("8"));
        assert_eq!(scalar("0o10"), num("8"));
        assert_eq!(scalar("0x1F"), num("31"));
        assert_eq!(scalar("0b101"), num("5"));
        assert_eq!(scalar("08"), num("8.0"));
        assert_eq!(scalar("1_000"), num("1000"));
        assert_eq!(scalar("+12"), num("12"));
        assert_eq!(scalar("-0"), num("0"));
        assert_eq!(scalar("1e3"), num("1000.0"));
        assert_eq!(scalar("1.50"), num("1.5"));
        assert_eq!(scalar("12345678901234567890"), num("12345678901234567890"));
        assert_eq!(scalar("yes"), Value::String("yes".into()));
        assert_eq!(scalar("on"), Value::String("on".into()));
        assert_eq!(scalar("True"), Value::Bool(true));
        assert_eq!(scalar("~"), Value::Null);
        // Quoted or tagged scalars are strings as written.
        assert_eq!(scalar("\"010\""), Value::String("010".into()));
        assert_eq!(scalar("!!str 010"), Value::String("010".into()));
        assert_eq!(scalar("1.2.3"), Value::String("1.2.3".into()));
        assert_eq!(scalar("-x"), Value::String("-x".into()));
    }

    /// libyaml-safer 0.3 panics on these two inputs where libyaml (and so serde_yaml)
    /// reads on; the event pass works around both.
    #[test]
    fn inputs_that_panic_the_port_do_not_panic_here() {
        assert!(parse("a: \"\\").is_err());
        assert!(parse("{\n?!x?,'\r,$ [  éb: '\u{feff}`").is_err());
        assert!(parse("!x {\\?#${}!,!x${${\r>&a0$}]`").is_err());
        assert!(parse("[\"a b\"!x, &a!y, [c]!z, d]").is_err());
        let n = parse("a: [!x , b]\nc: [!y, d]\n").unwrap();
        assert_eq!(n.get("c").unwrap().mark, Mark { line: 2, column: 4 });
    }

    /// Read off `docker-compose config` (v2.40.3) for these values in `environment:`.
    #[test]
    fn floats_as_text_as_compose_writes_them() {
        let cases = [
            (1e3, "1000"),
            (1e6, "1e+06"),
            (1e21, "1e+21"),
            (0.000001, "1e-06"),
            (123456789.0, "1.23456789e+08"),
            (1.5e300, "1.5e+300"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (0.0001, "0.0001"),
            (-2.5e-7, "-2.5e-07"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float_text(f), want, "{f}");
        }
    }

    #[test]
    fn reset_key_is_dropped_so_a_merge_can_supply_it() {
        let text = "b: &b\n  e: 1\n  f: 2\nm:\n  <<: *b\n  e: !reset 5\n  g: !override 3\n";
        let n = parse(text).unwrap();
        let m = n.get("m").unwrap();
        let keys: Vec<&str> = m.as_map().unwrap().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["<<", "g"]);
    }

    /// Issue 11.6: 50k levels of `[` took 44 s before failing; now refused at the
    /// first level too deep, with its position.
    #[test]
    fn deep_flow_nesting_is_refused_at_its_position() {
        let text = format!("a: {}", "[".repeat(50_000));
        let e = parse(&text).unwrap_err();
        assert_eq!(
            e.mark,
            Mark {
                line: 1,
                column: 4 + MAX_DEPTH - 1
            }
        );
        assert!(e.message.contains("nested more than 128"), "{}", e.message);
        // serde_yaml's own limit is no lower: the deepest file the event pass takes
        // still loads.
        let deepest = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        parse(&deepest).unwrap();
        let deeper = format!("[{deepest}]");
        assert!(serde_yaml::from_str::<serde_yaml::Value>(&deeper).is_err());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        parse(&ok).unwrap();
    }
}
