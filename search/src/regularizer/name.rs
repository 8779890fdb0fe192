//! The names a search configuration holds: which registered regularizer, and how the terms of
//! several α tensors are combined.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Entry, Regularizer, Setup, rows};
use crate::Error;

/// How the terms of several α tensors (DARTS: normal and reduce) are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// Mean over all rows of all tensors (the recommended port, spec §1.4 option 1).
    #[default]
    Mean,
    /// Sum of the per-tensor means (spec §1.4 option 2; twice `Mean` for two equal tensors).
    Sum,
}

/// A regularizer chosen by name (`--regularizer`): a row of [`super::REGISTRY`]; written in
/// `config.json` as that name.
#[derive(Clone, Copy)]
pub struct RegularizerKind(&'static Entry);

impl RegularizerKind {
    /// Every registered regularizer, in registry order.
    pub fn all() -> impl Iterator<Item = RegularizerKind> {
        rows().map(RegularizerKind)
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn about(self) -> &'static str {
        self.0.about
    }

    pub fn uses_lambda(self) -> bool {
        self.0.uses_lambda
    }

    pub fn build(self, setup: &Setup) -> Box<dyn Regularizer> {
        (self.0.build)(setup)
    }

    /// Builds it for one `[rows, k]` α tensor with the search's default settings.
    #[cfg(test)]
    pub(crate) fn build_for(self, shape: [usize; 2]) -> Box<dyn Regularizer> {
        let defaults = crate::bilevel::SearchConfig::default();
        self.build(&Setup {
            alpha_shapes: &[shape],
            strength_lr: defaults.strength_lr,
            strength_max: defaults.strength_max,
        })
    }
}

impl Default for RegularizerKind {
    fn default() -> Self {
        "beta"
            .parse()
            .unwrap_or_else(|_| unreachable!("beta is registered"))
    }
}

impl PartialEq for RegularizerKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for RegularizerKind {}

impl fmt::Debug for RegularizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegularizerKind({:?})", self.name())
    }
}

impl fmt::Display for RegularizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegularizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        rows()
            .find(|e| e.name == s)
            .map(RegularizerKind)
            .ok_or_else(|| {
                let names: Vec<&str> = rows().map(|e| e.name).collect();
                Error::Invalid(format!(
                    "unknown regularizer {s:?}; choose one of {}",
                    names.join(", ")
                ))
            })
    }
}

impl Serialize for RegularizerKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for RegularizerKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
