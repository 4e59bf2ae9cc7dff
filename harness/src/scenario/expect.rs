//! What a scenario expects of its verdict: `lost = 0`, `redelivered = "> 0"`,
//! `redelivery = "9000..11000"`. A scenario that reproduces a known bug
//! passes when the bug shows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
