//! Version relations of dependency fields: `<<`, `<=`, `=`, `>=`, `>>`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::Version;
use crate::error::{Error, ErrorKind, Result};

/// A version relation of a dependency field: `<<`, `<=`, `=`, `>=`, `>>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// `<<`: strictly earlier.
    Earlier,
    /// `<=`: earlier or equal.
    EarlierEqual,
    /// `=`: equal.
    Equal,
    /// `>=`: later or equal.
    LaterEqual,
    /// `>>`: strictly later.
    Later,
}

impl Relation {
    /// All relations, from `<<` to `>>`.
    pub const ALL: [Relation; 5] = [
        Relation::Earlier,
        Relation::EarlierEqual,
        Relation::Equal,
        Relation::LaterEqual,
        Relation::Later,
    ];

    /// Whether `a rel b` holds in dpkg's order.
    pub fn holds(self, a: &Version, b: &Version) -> bool {
        self.holds_for(a.cmp(b))
    }

    /// Whether the relation holds for `a` and `b` whose comparison gave `ordering`.
    pub fn holds_for(self, ordering: Ordering) -> bool {
        match self {
            Relation::Earlier => ordering.is_lt(),
            Relation::EarlierEqual => ordering.is_le(),
            Relation::Equal => ordering.is_eq(),
            Relation::LaterEqual => ordering.is_ge(),
            Relation::Later => ordering.is_gt(),
        }
    }

    /// The relation as written in dependency fields: `<<`, `<=`, `=`, `>=` or `>>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Earlier => "<<",
            Relation::EarlierEqual => "<=",
            Relation::Equal => "=",
            Relation::LaterEqual => ">=",
            Relation::Later => ">>",
        }
    }
}

impl FromStr for Relation {
    type Err = Error;

    /// Accepts `<< <= = >= >>` and `dpkg --compare-versions`'s `lt le eq ge gt`.
    /// The obsolete `<` and `>` are rejected: dpkg reads them as `<=` and `>=`, which
    /// is rarely what was meant.
    fn from_str(s: &str) -> Result<Relation> {
        Ok(match s {
            "<<" | "lt" => Relation::Earlier,
            "<=" | "le" => Relation::EarlierEqual,
            "=" | "eq" => Relation::Equal,
            ">=" | "ge" => Relation::LaterEqual,
            ">>" | "gt" => Relation::Later,
            "<" | ">" => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("obsolete version relation '{s}': write '{s}=' or '{s}{s}'"),
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unknown version relation '{}' (expected <<, <=, =, >= or >>)",
                        s.escape_debug()
                    ),
                ));
            }
        })
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
