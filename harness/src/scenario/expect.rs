//! What a scenario expects of its verdict: `lost = 0`, `redelivered = "> 0"`,
//! `redelivery = "9000..11000"`. A scenario that reproduces a known bug
//! passes when the bug shows.

use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::checker::Class;

/// What an expectation counts: an anomaly class, or an aggregate of the
/// verdict. The judge is the one place that reads its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Key {
    Class(Class),
    /// lost-write + lost-delivery.
    Lost,
    /// The redelivery class, under its everyday name.
    Redelivered,
    /// Records skipped on purpose by an explicit seek.
    SkippedBySeek,
    /// Groups that did not drain in time.
    DrainTimeouts,
    /// Records the brokers acknowledged.
    Acked,
}

impl Key {
    const AGGREGATES: [Key; 5] = [Key::Lost, Key::Redelivered, Key::SkippedBySeek, Key::DrainTimeouts, Key::Acked];

    /// Every key, classes first.
    pub fn all() -> impl Iterator<Item = Key> {
        Class::ALL.into_iter().map(Key::Class).chain(Key::AGGREGATES)
    }

    pub fn name(self) -> &'static str {
        match self {
            Key::Class(c) => c.name(),
            Key::Lost => "lost",
            Key::Redelivered => "redelivered",
            Key::SkippedBySeek => "skipped-by-seek",
            Key::DrainTimeouts => "drain-timeouts",
            Key::Acked => "acked",
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Key {
    type Err = String;
    fn from_str(s: &str) -> Result<Key, String> {
        Key::all().find(|k| k.name() == s).ok_or_else(|| {
            let known: Vec<&str> = Key::all().map(Key::name).collect();
            format!("unknown expectation `{s}`; expected one of: {}", known.join(", "))
        })
    }
}

impl TryFrom<String> for Key {
    type Error = String;
    fn try_from(s: String) -> Result<Key, String> {
        s.parse()
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.name().to_string()
    }
}

/// `[expect]` for editors: one optional property per key.
pub(super) fn expect_schema(generator: &mut SchemaGenerator) -> Schema {
    let value = generator.subschema_for::<Expectation>();
    let properties: serde_json::Map<String, serde_json::Value> =
        Key::all().map(|k| (k.name().to_string(), value.clone().to_value())).collect();
    json_schema!({ "type": "object", "properties": properties, "additionalProperties": false })
}

impl JsonSchema for Expectation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expectation".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A count (`0`), a comparison (`\"> 0\"`, `\"<= 100\"`), an inclusive range (`\"9000..11000\"`) or `\"any\"`.",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*(any|(>=|<=|==|>|<|=)?\\s*\\d+|\\d+\\s*\\.\\.=?\\s*\\d+)\\s*$" }
            ]
        })
    }
}

/// A condition on one count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Raw", into = "String")]
pub enum Expectation {
    Eq(u64),
    Gt(u64),
    Ge(u64),
    Lt(u64),
    Le(u64),
    /// Inclusive range `a..b` (written `a..b` or `a..=b`, both inclusive).
    Between(u64, u64),
    /// No constraint (`"any"`).
    Any,
}

impl Expectation {
    pub fn holds(self, n: u64) -> bool {
        match self {
            Expectation::Eq(v) => n == v,
            Expectation::Gt(v) => n > v,
            Expectation::Ge(v) => n >= v,
            Expectation::Lt(v) => n < v,
            Expectation::Le(v) => n <= v,
            Expectation::Between(a, b) => a <= n && n <= b,
            Expectation::Any => true,
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Eq(v) => write!(f, "= {v}"),
            Expectation::Gt(v) => write!(f, "> {v}"),
            Expectation::Ge(v) => write!(f, ">= {v}"),
            Expectation::Lt(v) => write!(f, "< {v}"),
            Expectation::Le(v) => write!(f, "<= {v}"),
            Expectation::Between(a, b) => write!(f, "{a}..{b}"),
            Expectation::Any => write!(f, "any"),
        }
    }
}

impl From<Expectation> for String {
    fn from(e: Expectation) -> String {
        e.to_string()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Count(u64),
    Text(String),
}

impl TryFrom<Raw> for Expectation {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match raw {
            Raw::Count(n) => Ok(Expectation::Eq(n)),
            Raw::Text(s) => s.parse(),
        }
    }
}

impl FromStr for Expectation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "`{s}` is not an expectation; write a count (`0`), a comparison \
                 (`\"> 0\"`, `\"<= 100\"`), a range (`\"9000..11000\"`) or `\"any\"`"
            )
        };
        let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        if s == "any" {
            return Ok(Expectation::Any);
        }
        if let Some((a, b)) = s.split_once("..") {
            let (a, b) = (num(a)?, num(b.trim_start_matches('='))?);
            return if a <= b { Ok(Expectation::Between(a, b)) } else { Err(bad()) };
        }
        for (op, make) in [
            (">=", Expectation::Ge as fn(u64) -> Expectation),
            ("<=", Expectation::Le),
            ("==", Expectation::Eq),
            (">", Expectation::Gt),
            ("<", Expectation::Lt),
            ("=", Expectation::Eq),
        ] {
            if let Some(rest) = s.strip_prefix(op) {
                return Ok(make(num(rest)?));
            }
        }
        Ok(Expectation::Eq(num(s)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        assert_eq!("> 0".parse(), Ok(Expectation::Gt(0)));
        assert_eq!(">=10".parse(), Ok(Expectation::Ge(10)));
        assert_eq!("<= 5".parse(), Ok(Expectation::Le(5)));
        assert_eq!("== 3".parse(), Ok(Expectation::Eq(3)));
        assert_eq!("7".parse(), Ok(Expectation::Eq(7)));
        assert_eq!("9000..11000".parse(), Ok(Expectation::Between(9000, 11000)));
        assert_eq!("any".parse(), Ok(Expectation::Any));
        assert!("lots".parse::<Expectation>().is_err());
        assert!("10..2".parse::<Expectation>().is_err());
    }

    #[test]
    fn holds_is_inclusive_where_it_says_so() {
        assert!(Expectation::Between(1, 3).holds(3));
        assert!(!Expectation::Gt(0).holds(0));
        assert!(Expectation::Le(0).holds(0));
    }
}
