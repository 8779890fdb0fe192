//! Search spaces behind one interface: which supernet to build, the shapes and op names of α,
//! and how α becomes a discrete cell.

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::darts::{self, BatchedSupernet, Genotype, OpSet};
use crate::nb201::{self, Nb201Supernet};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceKind {
    #[default]
    Nb201,
    Darts,
}

impl SpaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceKind::Nb201 => "nb201",
            SpaceKind::Darts => "darts",
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
            "darts" => Ok(SpaceKind::Darts),
            _ => Err(Error::Invalid(format!(
                "unknown search space {s:?}; choose nb201 or darts"
            ))),
        }
    }
}

/// A space with its op set (the op set only matters for DARTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub kind: SpaceKind,
    pub ops: OpSet,
}

impl Space {
    pub fn nb201() -> Self {
        Space {
            kind: SpaceKind::Nb201,
            ops: OpSet::default(),
        }
    }

    /// Names of the α tensors (one per cell type).
    pub fn alpha_names(self) -> Vec<&'static str> {
        match self.kind {
            SpaceKind::Nb201 => vec!["alphas"],
            SpaceKind::Darts => vec!["alphas_normal", "alphas_reduce"],
        }
    }

    /// Candidate op names, in α column order.
    pub fn op_names(self) -> Vec<&'static str> {
        match self.kind {
            SpaceKind::Nb201 => nb201::OPS.to_vec(),
            SpaceKind::Darts => self.ops.names(),
        }
    }

    pub fn alpha_shapes(self) -> Vec<[usize; 2]> {
        let k = self.op_names().len();
        match self.kind {
            SpaceKind::Nb201 => vec![[nb201::NUM_EDGES, k]],
            SpaceKind::Darts => vec![[darts::NUM_EDGES, k]; 2],
        }
    }

    /// Edge labels per α tensor, for plots: "to<-from" (NB201) or "n<i><-<input>" (DARTS).
    pub fn edge_labels(self) -> Vec<Vec<String>> {
        match self.kind {
            SpaceKind::Nb201 => vec![
                (0..nb201::NUM_EDGES)
                    .map(|e| {
                        let (to, from) = nb201::edge_nodes(e);
                        format!("{to}<-{from}")
                    })
                    .collect(),
            ],
            SpaceKind::Darts => {
                let input = |j: usize| match j {
                    0 => "c_{k-2}".to_string(),
                    1 => "c_{k-1}".to_string(),
                    j => format!("n{}", j - 2),
                };
                let labels: Vec<String> = (0..darts::STEPS)
                    .flat_map(|i| (0..i + 2).map(move |j| (i, j)))
                    .map(|(i, j)| format!("n{i}<-{}", input(j)))
                    .collect();
                vec![labels.clone(), labels]
            }
        }
    }

    /// The discrete cell that α (host copies, one per tensor) stands for.
    pub fn derive(self, alphas: &[Vec<f32>]) -> Result<Derived> {
        match self.kind {
            SpaceKind::Nb201 => Ok(Derived::Nb201(nb201::Arch::derive(&alphas[0])?)),
            SpaceKind::Darts => Ok(Derived::Darts(darts::derive_genotype(
                alphas,
                &self.op_names(),
            ))),
        }
    }
}

/// A derived discrete cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Derived {
    Nb201(nb201::Arch),
    Darts(Genotype),
}

impl Derived {
    /// Share of the cell's edges that are skip-connections.
    pub fn skip_share(&self) -> f64 {
        match self {
            Derived::Nb201(a) => a.count(nb201::Op::Skip) as f64 / nb201::NUM_EDGES as f64,
            Derived::Darts(g) => g.skip_share(),
        }
    }

    /// Share of the cell's edges that are `none` (DARTS derivation never picks `none`).
    pub fn none_share(&self) -> f64 {
        match self {
            Derived::Nb201(a) => a.count(nb201::Op::None) as f64 / nb201::NUM_EDGES as f64,
            Derived::Darts(_) => 0.0,
        }
    }
}

impl fmt::Display for Derived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derived::Nb201(a) => a.fmt(f),
            Derived::Darts(g) => g.fmt(f),
        }
    }
}

/// Sizes of the supernet. `cells` is N per stage for NB201 and the total cell count for DARTS.
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
    Nb201(Nb201Supernet),
    Darts(BatchedSupernet),
}

impl Supernet {
    pub fn new(space: Space, shape: SupernetShape, device: &Device) -> Self {
        let SupernetShape {
            in_channels,
            channels,
            cells,
            classes,
        } = shape;
        match space.kind {
            SpaceKind::Nb201 => Supernet::Nb201(Nb201Supernet::new(
                in_channels,
                channels,
                cells,
                classes,
                device,
            )),
            SpaceKind::Darts => Supernet::Darts(BatchedSupernet::new(
                &space.ops.ops(),
                in_channels,
                channels,
                cells,
                classes,
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
            Supernet::Nb201(net) => net.forward(x, &weights[0]),
            Supernet::Darts(net) => net.forward(x, weights),
        }
    }

    /// Whether the reference clips the weight step's gradient norm together with the gradient
    /// of the mixing weights (NB201: α is an `nn.Parameter` there, so it is included; DARTS
    /// space: plain tensors, not included).
    pub fn clip_includes_mixing_weights(&self) -> bool {
        matches!(self, Supernet::Nb201(_))
    }
}
