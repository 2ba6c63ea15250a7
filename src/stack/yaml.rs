//! The only file that knows the YAML libraries: text in, a positioned [`Node`] tree out,
//! and a JSON value out as YAML text for `config`.
//!
//! serde_yaml (archived upstream) gives the values and its syntax errors with their
//! location; yaml-rust2's event parser gives the line and column of every key and value,
//! which serde_yaml's `Value` does not keep. Swapping either library is a change to this
//! file only. Nothing here knows Compose.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::node::{Entry, Mark, Node, Value};

/// A YAML syntax error: 1-based position and the parser's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub mark: Mark,
    pub message: String,
}

/// Parses one YAML document. Aliases are expanded; `<<` merge keys are left for
/// `node::apply_merges`.
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut docs = parse_documents(text)?;
    Ok(if docs.is_empty() {
        Node::new(Value::Null, Mark::default())
    } else {
        docs.swap_remove(0)
    })
}

/// Parses every document of a YAML stream (`---` separated), in order; an empty text
/// is one empty document.
pub(crate) fn parse_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let syntax = |e: serde_yaml::Error| {
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
    };
    let mut values = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        values.push(serde::Deserialize::deserialize(doc).map_err(syntax)?);
    }
    if values.is_empty() {
        values.push(serde_yaml::Value::Null);
    }
    let marks = marks_of(text).unwrap_or_default();
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, v): (usize, serde_yaml::Value)| zip(v, marks.get(i)))
        .collect())
}

/// A JSON value written as YAML (for `config`).
pub(crate) fn to_yaml(value: &serde_json::Value) -> String {
    // Serialising a serde_json::Value cannot fail: it has only string keys and no
    // non-finite numbers a YAML emitter would reject; an empty string is a safe fallback.
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Positions only, in the shape of the document.
#[derive(Debug, Clone)]
enum Marks {
    Scalar(Mark),
    Seq(Mark, Vec<Marks>),
    Map(Mark, Vec<(Marks, Marks)>),
}

impl Marks {
    fn mark(&self) -> Mark {
        match self {
            Marks::Scalar(m) | Marks::Seq(m, _) | Marks::Map(m, _) => *m,
        }
    }
}

fn to_mark(m: Marker) -> Mark {
    Mark {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// Positions are best effort: if yaml-rust2 rejects a document serde_yaml accepted,
/// messages fall back to the document start rather than failing the load.
fn marks_of(text: &str) -> Option<Vec<Marks>> {
    let mut builder = MarksBuilder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).ok()?;
    Some(builder.roots)
}

#[derive(Default)]
struct MarksBuilder {
    stack: Vec<(Marks, usize)>,
    anchors: HashMap<usize, Marks>,
    /// One per document.
    roots: Vec<Marks>,
}

impl MarksBuilder {
    fn push_done(&mut self, done: Marks, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, done.clone());
        }
        match self.stack.last_mut() {
            Some((Marks::Seq(_, items), _)) => items.push(done),
            Some((Marks::Map(_, pairs), _)) => match pairs.last_mut() {
                // A pair whose value is still the placeholder gets its value now.
                Some((_, v @ Marks::Scalar(Mark { line: 0, .. }))) => *v = done,
                _ => pairs.push((done, Marks::Scalar(Mark::default()))),
            },
            Some((Marks::Scalar(_), _)) => {}
            None => self.roots.push(done),
        }
    }
}

impl MarkedEventReceiver for MarksBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let m = to_mark(mark);
        match ev {
            Event::Scalar(_, _, anchor, _) => self.push_done(Marks::Scalar(m), anchor),
            Event::Alias(id) => {
                let done = self.anchors.get(&id).cloned().unwrap_or(Marks::Scalar(m));
                self.push_done(done, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push((Marks::Seq(m, Vec::new()), anchor)),
            Event::MappingStart(anchor, _) => self.stack.push((Marks::Map(m, Vec::new()), anchor)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut done, anchor)) = self.stack.pop() {
                    // A block mapping's start event is marked after its first key; the
                    // first key is where a reader sees the mapping begin.
                    if let Marks::Map(m, pairs) = &mut done
                        && let Some((k, _)) = pairs.first()
                    {
                        let k = k.mark();
                        if (k.line, k.column) < (m.line, m.column) {
                            *m = k;
                        }
                    }
                    self.push_done(done, anchor);
                }
            }
            _ => {}
        }
    }
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

fn zip(value: serde_yaml::Value, marks: Option<&Marks>) -> Node {
    let mark = marks.map(Marks::mark).unwrap_or_default();
    let v = match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => Value::Number(number(&n)),
        serde_yaml::Value::String(s) => Value::String(s),
        // Compose's `!reset`/`!override` tags are kept on the node for merging files.
        serde_yaml::Value::Tagged(t) => {
            let mut node = zip(t.value, marks);
            node.tag = Some(t.tag.to_string());
            return node;
        }
        serde_yaml::Value::Sequence(items) => {
            let child = match marks {
                Some(Marks::Seq(_, c)) if c.len() == items.len() => Some(c),
                _ => None,
            };
            Value::Seq(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| zip(item, child.and_then(|c| c.get(i))))
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
                    .map(|(i, (k, v))| {
                        let pair = child.and_then(|c| c.get(i));
                        Entry {
                            key: key_string(&k),
                            key_mark: pair.map(|p| p.0.mark()).unwrap_or_default(),
                            value: zip(v, pair.map(|p| &p.1)),
                        }
                    })
                    .collect(),
            )
        }
    };
    Node::new(v, mark)
}

fn number(n: &serde_yaml::Number) -> serde_json::Number {
    if let Some(i) = n.as_i64() {
        i.into()
    } else if let Some(u) = n.as_u64() {
        u.into()
    } else {
        // NaN and infinities have no JSON form; no Compose field takes them.
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .unwrap_or_else(|| 0.into())
    }
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
}
