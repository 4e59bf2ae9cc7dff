//! An axis of a sweep: a field of the scenario file named by its path, and
//! the values it takes. A point is the base file with one value per axis
//! written into it, so whatever the loader accepts (and refuses) for a file
//! holds for every point.

use std::fmt;
use std::str::FromStr;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

/// One step of a path: `group`, `[0]`, `"session.timeout.ms"`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A field's path, as people write it: `fault[0].duration`,
/// `group[0].properties."session.timeout.ms"`, `run.drain_timeout`. Two
/// paths are equal when they name the same field (`fault[0]."duration"`).
#[derive(Debug, Clone, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The last key, unquoted: a short label for tables and legends.
    pub fn leaf(&self) -> &str {
        self.segments
            .iter()
            .rev()
            .find_map(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .unwrap_or(&self.text)
    }
}

/// The leaf of a path given as text (`session.timeout.ms`), or the text
/// itself when it is no path: labels for tables and legends.
pub fn leaf_of(path: &str) -> String {
    path.parse::<FieldPath>().map(|p| p.leaf().to_string()).unwrap_or_else(|_| path.to_string())
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &FieldPath) -> bool {
        self.segments == other.segments
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for FieldPath {
    type Err = String;

    fn from_str(text: &str) -> Result<FieldPath, String> {
        let bad = |why: &str| format!("bad path `{text}`: {why}");
        let mut segments = Vec::new();
        let mut rest = text.trim();
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| bad("`[` without `]`"))?;
                let i = r[..end].trim().parse::<usize>().map_err(|_| bad("an index is a number, as in fault[0]"))?;
                segments.push(Segment::Index(i));
                rest = &r[end + 1..];
                expect_key = false;
                continue;
            }
            if !expect_key {
                rest = rest.strip_prefix('.').ok_or_else(|| bad("keys are separated by `.`"))?;
                if rest.is_empty() {
                    return Err(bad("it ends with `.`"));
                }
            }
            let key = if let Some(r) = rest.strip_prefix('"') {
                let end = r.find('"').ok_or_else(|| bad("a quoted key needs its closing `\"`"))?;
                let key = &r[..end];
                rest = &r[end + 1..];
                key.to_string()
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let key = rest[..end].trim();
                rest = &rest[end..];
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(bad(
                        "a key is letters, digits, `_` and `-`, or quoted: properties.\"session.timeout.ms\"",
                    ));
                }
                key.to_string()
            };
            segments.push(Segment::Key(key));
            expect_key = false;
        }
        match segments.first() {
            None => Err(bad("it is empty")),
            Some(Segment::Index(_)) => Err(bad("it starts with a key, as in fault[0].duration")),
            Some(Segment::Key(_)) => Ok(FieldPath { text: text.trim().to_string(), segments }),
        }
    }
}

/// An axis: the path and its values, in the order they are run and drawn.
#[derive(Debug, Clone)]
pub struct Axis {
    pub path: FieldPath,
    pub values: Vec<Value>,
}

impl Axis {
    /// `--vary 'PATH=V1,V2,...'`: each value is read as TOML (`6000`, `true`,
    /// `"6000"`, `1.5`) and otherwise taken as a string (`3s`).
    pub fn parse_flag(flag: &str) -> Result<Axis, String> {
        let (path, values) = split_flag(flag)
            .ok_or_else(|| format!("--vary `{flag}`: expected PATH=V1,V2,..., as in fault[0].duration=3s,7s"))?;
        let path: FieldPath = path.parse().map_err(|e| format!("--vary: {e}"))?;
        let values: Vec<Value> = values.split(',').map(|v| v.trim()).map(scalar).collect();
        if values.iter().any(|v| v.as_str() == Some("")) {
            return Err(format!("--vary {path}: an empty value"));
        }
        Ok(Axis { path, values })
    }

    /// A `[sweep] vary` entry.
    pub fn from_spec(path: &str, values: &[serde_json::Value]) -> Result<Axis, String> {
        let path: FieldPath = path.parse()?;
        let values = values
            .iter()
            .map(|v| json_to_toml(v).ok_or_else(|| format!("{path}: values are strings, numbers, booleans or arrays")))
            .collect::<Result<_, _>>()?;
        Ok(Axis { path, values })
    }
}

/// Splits `PATH=VALUES` at the first `=` outside a quoted key.
fn split_flag(flag: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in flag.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&flag[..i], &flag[i + 1..])),
            _ => {}
        }
    }
    None
}

fn scalar(text: &str) -> Value {
    text.parse::<Value>().ok().filter(|v| !v.is_inline_table()).unwrap_or_else(|| Value::from(text))
}

fn json_to_toml(v: &serde_json::Value) -> Option<Value> {
    Some(match v {
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64()?),
        },
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_toml).collect::<Option<_>>()?),
        serde_json::Value::Null | serde_json::Value::Object(_) => return None,
    })
}

/// A value as a table cell, a file name part or a legend shows it: `3s`, `6000`.
pub fn label(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string().trim().to_string(),
    }
}

/// Writes `value` at `path` in `doc`. Tables on the way that the file left
/// out (`[run]`, a group's `properties`) are made; a list element that does
/// not exist is an error, since nothing could say what else it holds.
pub fn set(doc: &mut DocumentMut, path: &FieldPath, value: &Value) -> Result<(), String> {
    let mut at = String::new();
    set_item(doc.as_item_mut(), &path.segments, value, &mut at).map_err(|e| format!("{path}: {e}"))
}

fn set_item(item: &mut Item, segs: &[Segment], value: &Value, at: &mut String) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else { return Ok(()) };
    match seg {
        Segment::Key(_) => match item.as_table_like_mut() {
            Some(t) => set_in_table(t, segs, value, at),
            None => Err(format!("`{at}` is not a table")),
        },
        Segment::Index(i) => {
            let here = at.clone();
            at.push_str(&format!("[{i}]"));
            let missing = |len: usize| format!("`{here}` has {len} in the file, there is no [{i}]");
            match item {
                Item::ArrayOfTables(a) => {
                    let len = a.len();
                    let t = a.get_mut(*i).ok_or_else(|| missing(len))?;
                    if rest.is_empty() {
                        return Err(format!("`{at}` is a whole table; name one of its fields"));
                    }
                    set_in_table(t, rest, value, at)
                }
                Item::Value(Value::Array(a)) => {
                    let len = a.len();
                    let v = a.get_mut(*i).ok_or_else(|| missing(len))?;
                    match (rest.is_empty(), v) {
                        (true, v) => {
                            *v = value.clone();
                            Ok(())
                        }
                        (false, Value::InlineTable(t)) => set_in_table(t, rest, value, at),
                        (false, _) => Err(format!("`{at}` is a value, not a table")),
                    }
                }
                _ => Err(format!("`{here}` is not a list")),
            }
        }
    }
}

/// `segs` starts with a key of `table`.
fn set_in_table(table: &mut dyn TableLike, segs: &[Segment], value: &Value, at: &mut String) -> Result<(), String> {
    let (Some(Segment::Key(k)), rest) = (segs.first(), &segs[1..]) else {
        return Err(format!("`{at}` is a table: name one of its fields, not an index"));
    };
    if !at.is_empty() {
        at.push('.');
    }
    at.push_str(k);
    if rest.is_empty() {
        table.insert(k, Item::Value(value.clone()));
        return Ok(());
    }
    if table.get(k).is_none() {
        match rest[0] {
            Segment::Key(_) => {
                table.insert(k, Item::Table(Table::new()));
            }
            Segment::Index(i) => return Err(format!("`{at}` is not in the file, so there is no [{i}]")),
        }
    }
    set_item(table.get_mut(k).expect("present or just made"), rest, value, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> DocumentMut {
        "name = \"x\"\n\n[[group]]\nmembers = 1\nproperties = { \"session.timeout.ms\" = \"6000\" }\n\n[[fault]]\nkind = \"pause-broker\"\nduration = \"3s\"\n"
            .parse()
            .unwrap()
    }

    fn set_str(path: &str, value: &str) -> Result<String, String> {
        let mut d = doc();
        set(&mut d, &path.parse()?, &scalar(value))?;
        Ok(d.to_string())
    }

    #[test]
    fn paths_read_indices_and_quoted_keys() {
        let p: FieldPath = "group[0].properties.\"session.timeout.ms\"".parse().unwrap();
        assert_eq!(
            p.segments,
            [
                Segment::Key("group".into()),
                Segment::Index(0),
                Segment::Key("properties".into()),
                Segment::Key("session.timeout.ms".into())
            ]
        );
        assert_eq!(p.leaf(), "session.timeout.ms");
        assert_eq!(leaf_of("group[0].properties.\"session.timeout.ms\""), "session.timeout.ms");
        assert_eq!(leaf_of("fault[0].duration"), "duration");
        assert_eq!("fault[0].\"duration\"".parse::<FieldPath>(), "fault[0].duration".parse::<FieldPath>());
        for bad in ["", "[0]", "fault[x].duration", "fault[0]duration", "a..b", "run.", "group[0].properties.\"open"] {
            assert!(bad.parse::<FieldPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_value_is_written_where_the_path_points() {
        let t = set_str("fault[0].duration", "7s").unwrap();
        assert!(t.contains("duration = \"7s\""), "{t}");
        let t = set_str("group[0].properties.\"session.timeout.ms\"", "10000").unwrap();
        assert!(t.contains("\"session.timeout.ms\" = 10000"), "{t}");
        // Tables the file left out are made.
        let t = set_str("run.drain_timeout", "30s").unwrap();
        assert!(t.contains("[run]\ndrain_timeout = \"30s\""), "{t}");
        let t = set_str("group[0].properties.\"max.poll.interval.ms\"", "9000").unwrap();
        assert!(t.contains("\"max.poll.interval.ms\" = 9000"), "{t}");
    }

    #[test]
    fn a_path_past_the_file_is_an_error_that_names_it() {
        assert_eq!(
            set_str("fault[1].duration", "1s").unwrap_err(),
            "fault[1].duration: `fault` has 1 in the file, there is no [1]"
        );
        assert_eq!(
            set_str("producer[0].records", "1").unwrap_err(),
            "producer[0].records: `producer` is not in the file, so there is no [0]"
        );
        assert_eq!(set_str("name.x", "1").unwrap_err(), "name.x: `name` is not a table");
        assert_eq!(
            set_str("fault[0]", "1").unwrap_err(),
            "fault[0]: `fault[0]` is a whole table; name one of its fields"
        );
    }

    #[test]
    fn flag_values_are_toml_or_else_strings() {
        let a = Axis::parse_flag("group[0].properties.\"session.timeout.ms\"=6000, 10000").unwrap();
        assert_eq!(a.path.to_string(), "group[0].properties.\"session.timeout.ms\"");
        assert_eq!(a.values.iter().map(|v| v.as_integer()).collect::<Vec<_>>(), [Some(6000), Some(10000)]);
        let a = Axis::parse_flag("fault[0].duration=3s,\"7s\",true").unwrap();
        assert_eq!(a.values.iter().map(label).collect::<Vec<_>>(), ["3s", "7s", "true"]);
        assert!(a.values[2].as_bool().is_some());
        assert!(Axis::parse_flag("fault[0].duration").is_err());
        assert!(Axis::parse_flag("fault[0].duration=1s,").is_err());
    }
}
