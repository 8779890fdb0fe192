//! Regularizers of α for the architecture step: the [`Regularizer`] trait and [`REGISTRY`], the
//! one table that `--regularizer`, its help and errors, study plans, checkpoints and history are
//! derived from. Adding one: a type implementing the trait (in its own file) and one row here.
//!
//! Every row-wise regularizer is normalised like β-decay (mean over edges) so that λ means the
//! same thing across them; the gradients show what each one decays:
//!
//! | name | per-edge term | ∂/∂α[e,k] |
//! |---|---|---|
//! | `beta` (β-decay) | logsumexp_k α[e,k] | softmax(α[e])_k / E = β/E |
//! | `l2` | ½ Σ_k α[e,k]² | α/E (coupled weight decay on α) |
//! | `beta-zero` | smoothmax(0, α[e]) = log(1 + Σ_k e^α) = softplus(logsumexp α[e]) | β·σ(lse)/E |
//! | `beta-global` | logsumexp over *all* entries of the tensor (one term, not averaged) | softmax over all |
//! | `beta-learned` | θ_e·logsumexp_k α[e,k], θ_e learned (experimental, [`learned`]) | θ_e·β/E |
//! | `none` | 0 | 0 |

mod decay;
pub mod learned;
mod name;
#[cfg(test)]
mod recipe_test;
#[cfg(test)]
mod tests;

use burn::tensor::Tensor;

pub use decay::{BetaDecay, BetaGlobal, BetaZero, L2, NoRegularizer, logsumexp_rows};
pub use learned::DecayStrength;
pub use name::{Aggregation, RegularizerKind};

/// Every regularizer `--regularizer` accepts, in the order `--help` lists them.
pub static REGISTRY: &[Entry] = &[
    Entry {
        name: "none",
        about: "no penalty (DARTS); λ schedules do not apply",
        uses_lambda: false,
        build: |_| Box::new(NoRegularizer),
    },
    Entry {
        name: "l2",
        about: "½‖α‖² per edge (weight decay on α)",
        uses_lambda: true,
        build: |_| Box::new(L2),
    },
    Entry {
        name: "beta",
        about: "β-decay: logsumexp(α) per edge (β-DARTS)",
        uses_lambda: true,
        build: |_| Box::new(BetaDecay),
    },
    Entry {
        name: "beta-global",
        about: "logsumexp over all of α (one term per tensor)",
        uses_lambda: true,
        build: |_| Box::new(BetaGlobal),
    },
    Entry {
        name: "beta-zero",
        about: "softplus(logsumexp(α)) per edge: smoothmax with a zero logit",
        uses_lambda: true,
        build: |_| Box::new(BetaZero),
    },
    Entry {
        name: "beta-learned",
        about: "experimental: β-decay with a per-edge strength learned on the arch split",
        uses_lambda: true,
        build: |s| {
            Box::new(DecayStrength::new(
                s.alpha_shapes,
                s.strength_max,
                s.strength_lr,
            ))
        },
    },
];

/// Rows only the unit tests see: the contributor's recipe, proven in `recipe_test.rs`.
#[cfg(test)]
static TEST_ROWS: &[Entry] = &[recipe_test::ROW];
#[cfg(not(test))]
static TEST_ROWS: &[Entry] = &[];

/// Every row a name is looked up in.
fn rows() -> impl Iterator<Item = &'static Entry> {
    REGISTRY.iter().chain(TEST_ROWS)
}

/// One row of [`REGISTRY`].
pub struct Entry {
    /// The `--regularizer` value, also written in `config.json` and study folder names.
    pub name: &'static str,
    /// One line for `--help` and error messages.
    pub about: &'static str,
    /// Whether λ scales it (a study gives λ schedules only to those that do).
    pub uses_lambda: bool,
    pub build: fn(&Setup) -> Box<dyn Regularizer>,
}

/// What a regularizer is built from: the α tensors' shapes and the search's settings for it.
pub struct Setup<'a> {
    pub alpha_shapes: &'a [[usize; 2]],
    /// `beta-learned`: step size and upper bound θ_max of the per-edge strength.
    pub strength_lr: f64,
    pub strength_max: f64,
}

/// A penalty on α added to the architecture loss, scaled by λ(epoch). Stateless ones implement
/// the first two methods; one that learns (see [`learned`]) also the step hook and its state.
pub trait Regularizer: Send {
    /// The per-tensor value (`[1]`): mean over rows of the row term, or a global term.
    fn tensor_term(&self, alpha: Tensor<2>) -> Tensor<1>;

    /// ∂(tensor term)/∂α in closed form, for host values of one row-major `[rows, k]` tensor
    /// (the split of the α gradient into its CE and regularizer parts needs no second backward).
    fn term_gradient(&self, alpha: &[f32], k: usize) -> Vec<f32>;

    /// Value over all α tensors with the given aggregation.
    fn loss(&self, alphas: &[Tensor<2>], aggregation: Aggregation) -> Tensor<1> {
        let terms = alphas.iter().map(|a| self.tensor_term(a.clone())).collect();
        aggregate(terms, alphas, aggregation)
    }

    /// Per-edge factors `[tensor][edge]` on [`Self::term_gradient`] when [`Self::loss`] weighs
    /// edges unequally; `None`: all 1.
    fn row_weights(&self) -> Option<Vec<Vec<f64>>> {
        None
    }

    /// Called after every α step with the CE part of the α gradient and the regularizer's own
    /// (unweighted, λ-free) gradient, row-major per tensor; `k` = ops per edge.
    fn observe(&mut self, _ce_grad: &[Vec<f32>], _reg_grad: &[Vec<f32>], _k: usize, _lambda: f64) {}

    /// State to checkpoint (`None`: stateless); [`Self::restore`] must take it back exactly.
    fn state(&self) -> Option<serde_json::Value> {
        None
    }

    fn restore(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Err("this regularizer keeps no state, but the checkpoint holds some".into())
    }

    /// Fields added to each epoch's `history.jsonl` record (name, value).
    fn history(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// ∂(λ-free regularizer)/∂α per tensor in closed form (edges unweighted), aggregated as
/// [`Regularizer::loss`].
pub fn gradient(
    reg: &dyn Regularizer,
    alphas: &[Vec<f32>],
    k: usize,
    aggregation: Aggregation,
) -> Vec<Vec<f32>> {
    let rows: Vec<usize> = alphas.iter().map(|a| a.len() / k.max(1)).collect();
    let total: usize = rows.iter().sum();
    alphas
        .iter()
        .zip(&rows)
        .map(|(a, &r)| {
            let w = match aggregation {
                Aggregation::Mean => r as f32 / total.max(1) as f32,
                Aggregation::Sum => 1.0,
            };
            reg.term_gradient(a, k).into_iter().map(|g| g * w).collect()
        })
        .collect()
}

/// Combines per-tensor terms: `Mean` weighs each by its share of rows, `Sum` adds them.
pub fn aggregate(
    terms: Vec<Tensor<1>>,
    alphas: &[Tensor<2>],
    aggregation: Aggregation,
) -> Tensor<1> {
    let rows: Vec<usize> = alphas.iter().map(|a| a.dims()[0]).collect();
    let total_rows: usize = rows.iter().sum();
    terms
        .into_iter()
        .zip(&rows)
        .map(|(t, r)| match aggregation {
            Aggregation::Mean => t * (*r as f64 / total_rows as f64),
            Aggregation::Sum => t,
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| unreachable!("at least one α tensor"))
}
