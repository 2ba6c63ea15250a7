//! The parsed stack file as a plain tree that remembers where every key and value was
//! written, plus the two passes that work on the tree as YAML: `<<` merge keys and the
//! key paths used in messages.
//!
//! This knows no YAML library (yaml.rs builds the tree) and no Compose semantics
//! (schema.rs and resolve.rs own those).

use std::fmt;

/// 1-based line and column; `line == 0` means unknown (then the nearest ancestor's
/// position is used).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub mark: Mark,
    /// The YAML tag written on the value (`!reset`, `!override`), for merging files.
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

/// One step of a key path: `services`, `web`, `ports`, `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `services.web.ports[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        Self(v)
    }
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        Self(v)
    }
    /// The last key name (not index), used to pick a description of what is allowed.
    pub fn last_key(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if first => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

impl Node {
    pub fn new(value: Value, mark: Mark) -> Self {
        Self {
            value,
            mark,
            tag: None,
        }
    }

    #[cfg(test)]
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A mapping's entry for `key`, with the key's own position.
    pub fn get_entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(m) => m.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(m) => m.iter_mut().find(|e| e.key == key).map(|e| &mut e.value),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|e| &e.value)
    }

    /// The node at `path`, if the tree has one there.
    pub fn at(&self, path: &KeyPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (Seg::Key(k), Value::Map(m)) => &m.iter().find(|e| &e.key == k)?.value,
                (Seg::Index(i), Value::Seq(s)) => s.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Where the value at `path` was written; falls back to the nearest ancestor whose
    /// position is known, so a message always has a line.
    pub fn locate(&self, path: &KeyPath) -> Mark {
        self.walk(path, false)
    }

    /// Where the key at the end of `path` was written (its value's position when the
    /// last step is an index).
    pub fn locate_key(&self, path: &KeyPath) -> Mark {
        self.walk(path, true)
    }

    fn walk(&self, path: &KeyPath, want_key: bool) -> Mark {
        let mut node = self;
        let mut best = self.mark;
        let last = path.0.len().saturating_sub(1);
        for (i, seg) in path.0.iter().enumerate() {
            let (next, key_mark) = match (seg, &node.value) {
                (Seg::Key(k), Value::Map(m)) => match m.iter().find(|e| &e.key == k) {
                    Some(e) => (&e.value, Some(e.key_mark)),
                    None => break,
                },
                (Seg::Index(idx), Value::Seq(s)) => match s.get(*idx) {
                    Some(n) => (n, None),
                    None => break,
                },
                _ => break,
            };
            node = next;
            let here = match key_mark {
                Some(k) if want_key && i == last => k,
                _ => next.mark,
            };
            if here.is_known() {
                best = here;
            } else if let Some(k) = key_mark.filter(|k| k.is_known()) {
                best = k;
            }
        }
        if best.is_known() {
            best
        } else {
            Mark { line: 1, column: 1 }
        }
    }

    /// The value as JSON, for typed deserialisation of the raw structs.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.clone()),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A `<<` whose value is neither a mapping nor a list of mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MergeError {
    pub path: KeyPath,
}

/// Applies YAML merge keys (`<<: *a`, `<<: [*a, *b]`) everywhere in the tree. Keys
/// written in the mapping win over merged ones, and earlier sources in a list win over
/// later ones (the YAML merge spec). Sources are merged bottom-up so an anchor that
/// itself uses `<<` is expanded before it is merged elsewhere — serde_yaml's own
/// `apply_merge` leaves such nested `<<` keys behind.
pub(crate) fn apply_merges(node: &mut Node, path: &KeyPath) -> Result<(), MergeError> {
    match &mut node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                apply_merges(item, &path.index(i))?;
            }
        }
        Value::Map(entries) => {
            for e in entries.iter_mut() {
                let p = path.key(&e.key);
                apply_merges(&mut e.value, &p)?;
            }
            let Some(at) = entries.iter().position(|e| e.key == "<<") else {
                return Ok(());
            };
            // Checked before the `<<` entry is taken out, so the error can point at it.
            match &entries[at].value.value {
                Value::Map(_) => {}
                Value::Seq(items) => {
                    if let Some(i) = items.iter().position(|n| !matches!(n.value, Value::Map(_))) {
                        return Err(MergeError {
                            path: path.key("<<").index(i),
                        });
                    }
                }
                _ => {
                    return Err(MergeError {
                        path: path.key("<<"),
                    });
                }
            }
            let merge = entries.remove(at);
            let sources: Vec<Node> = match merge.value.value {
                Value::Seq(items) => items,
                other => vec![Node::new(other, merge.value.mark)],
            };
            for source in sources {
                let Value::Map(merged) = source.value else {
                    continue;
                };
                for m in merged {
                    match entries.iter().position(|e| e.key == m.key) {
                        // `!reset` on a key a `<<` merge supplies: the merged value
                        // stands, as in Compose.
                        Some(i) if entries[i].value.tag.as_deref() == Some("!reset") => {
                            entries[i] = m;
                        }
                        Some(_) => {}
                        None => entries.push(m),
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}
