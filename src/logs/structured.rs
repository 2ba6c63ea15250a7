//! Structured (JSON object) log lines, read into level, message and the other fields so
//! they can be shown compactly, message first.
//!
//! Called only for lines that are about to be shown, never at ingest: parsing every line
//! of a flood would cost more than storing it. Knows nothing about colours.

use serde_json::{Map, Value};

/// A JSON log line taken apart. Fields come in serde_json's map order (sorted by key
/// unless its `preserve_order` feature is on): stable either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structured {
    pub level: Option<Level>,
    /// The level as written (`"warning"`, `"ERR"`), for display.
    pub level_text: Option<String>,
    pub message: Option<String>,
    /// Remaining fields as `key=value`, values compact (strings unquoted when plain).
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" | "10" => Self::Trace,
            "debug" | "dbg" | "20" => Self::Debug,
            "info" | "information" | "notice" | "30" => Self::Info,
            "warn" | "warning" | "40" => Self::Warn,
            "error" | "err" | "50" => Self::Error,
            "fatal" | "critical" | "crit" | "panic" | "emerg" | "alert" | "60" => Self::Fatal,
            _ => return None,
        })
    }
}

const LEVEL_KEYS: [&str; 5] = ["level", "lvl", "severity", "levelname", "log.level"];
const MESSAGE_KEYS: [&str; 4] = ["msg", "message", "event", "MESSAGE"];
/// Timestamps in the object duplicate the daemon's own (shown with `t`): left out.
const TIME_KEYS: [&str; 6] = ["time", "ts", "timestamp", "@timestamp", "t", "asctime"];

/// `Some` when `text` (escapes already removed) is a JSON object.
pub fn parse(text: &str) -> Option<Structured> {
    let t = text.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return None;
    }
    let mut obj: Map<String, Value> = serde_json::from_str(t).ok()?;
    let (level_text, level) = match take_first(&mut obj, &LEVEL_KEYS) {
        Some(v) => {
            let s = compact(&v);
            let level = Level::parse(&s);
            (Some(s), level)
        }
        None => (None, None),
    };
    let message = take_first(&mut obj, &MESSAGE_KEYS).map(|v| match v {
        Value::String(s) => s,
        other => compact(&other),
    });
    for k in TIME_KEYS {
        obj.remove(k);
    }
    let fields = obj.into_iter().map(|(k, v)| (k, compact(&v))).collect();
    Some(Structured {
        level,
        level_text,
        message,
        fields,
    })
}

fn take_first(obj: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|k| obj.remove(*k))
}

/// A value as shown after `key=`: strings without quotes unless they hold spaces,
/// everything else as compact JSON.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => s.clone(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_message_are_taken_out() {
        let s = parse(r#"{"time":"2024-01-01T00:00:00Z","level":"WARN","msg":"disk low","free_mb":120,"path":"/data"}"#)
            .unwrap();
        assert_eq!(s.level, Some(Level::Warn));
        assert_eq!(s.level_text.as_deref(), Some("WARN"));
        assert_eq!(s.message.as_deref(), Some("disk low"));
        assert_eq!(
            s.fields,
            vec![
                ("free_mb".into(), "120".into()),
                ("path".into(), "/data".into())
            ]
        );
    }

    #[test]
    fn not_json_objects() {
        assert_eq!(parse("plain text"), None);
        assert_eq!(parse("[1,2]"), None);
        assert_eq!(parse("{not json}"), None);
    }

    #[test]
    fn strings_with_spaces_are_quoted() {
        let s = parse(r#"{"message":"a b","user":"x y"}"#).unwrap();
        assert_eq!(s.message.as_deref(), Some("a b"));
        assert_eq!(s.fields, vec![("user".into(), "\"x y\"".into())]);
    }
}
