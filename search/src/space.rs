//! Search spaces behind one interface: which supernet to build, the shapes and op names of α,
//! and how α becomes a discrete cell.

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::nb201::{self, Nb201Network};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceKind {
    #[default]
    Nb201,
}

impl SpaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceKind::Nb201 => "nb201",
        }
    }

    /// Names of the α tensors (one per cell type).
    pub fn alpha_names(self) -> Vec<&'static str> {
        match self {
            SpaceKind::Nb201 => vec!["alphas"],
        }
    }

    /// Candidate op names, in α column order.
    pub fn op_names(self) -> Vec<&'static str> {
        match self {
            SpaceKind::Nb201 => nb201::OPS.to_vec(),
        }
    }

    pub fn alpha_shapes(self) -> Vec<[usize; 2]> {
        match self {
            SpaceKind::Nb201 => vec![[nb201::NUM_EDGES, nb201::OPS.len()]],
        }
    }

    /// Human-readable edge labels, per α tensor, for plots and logs.
    pub fn edge_labels(self) -> Vec<Vec<String>> {
        match self {
            SpaceKind::Nb201 => vec![
                (0..nb201::NUM_EDGES)
                    .map(|e| {
                        let (to, from) = nb201::edge_nodes(e);
                        format!("{to}<-{from}")
                    })
                    .collect(),
            ],
        }
    }

    /// The discrete cell that α (host copies, one per tensor) stands for.
    pub fn derive(self, alphas: &[Vec<f32>]) -> Result<Derived> {
        match self {
            SpaceKind::Nb201 => Ok(Derived::Nb201(nb201::Arch::derive(&alphas[0])?)),
        }
    }
}

impl fmt::Display for SpaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SpaceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "nb201" => Ok(SpaceKind::Nb201),
            _ => Err(Error::Invalid(format!(
                "unknown search space {s:?}; choose nb201"
            ))),
        }
    }
}

/// A derived discrete cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Derived {
    Nb201(nb201::Arch),
}

impl Derived {
    /// Share of the cell's edges that are skip-connections.
    pub fn skip_share(&self) -> f64 {
        match self {
            Derived::Nb201(a) => a.count(nb201::Op::Skip) as f64 / nb201::NUM_EDGES as f64,
        }
    }

    /// Share of the cell's edges that are `none`.
    pub fn none_share(&self) -> f64 {
        match self {
            Derived::Nb201(a) => a.count(nb201::Op::None) as f64 / nb201::NUM_EDGES as f64,
        }
    }
}

impl fmt::Display for Derived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derived::Nb201(a) => a.fmt(f),
        }
    }
}

/// Sizes of the supernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupernetShape {
    pub in_channels: usize,
    pub channels: usize,
    pub cells: usize,
    pub classes: usize,
}

/// The supernet of a space.
#[derive(Module, Debug)]
pub enum Supernet {
    Nb201(Nb201Network),
}

impl Supernet {
    pub fn new(space: SpaceKind, shape: SupernetShape, device: &Device) -> Self {
        match space {
            SpaceKind::Nb201 => Supernet::Nb201(Nb201Network::supernet(
                shape.in_channels,
                shape.channels,
                shape.cells,
                shape.classes,
                device,
            )),
        }
    }

    /// Logits with the given mixing weights (one `[E, K]` tensor per α tensor).
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → `[N, classes]`
    pub fn forward(&self, x: Tensor<4>, weights: &[Tensor<2>]) -> Tensor<2> {
        match self {
            Supernet::Nb201(net) => net.forward(x, Some(&weights[0])),
        }
    }

    /// Whether the reference clips the weight step's gradient norm together with the gradient
    /// of the mixing weights (NB201: α is an `nn.Parameter` there, so it is included).
    pub fn clip_includes_mixing_weights(&self) -> bool {
        matches!(self, Supernet::Nb201(_))
    }
}
