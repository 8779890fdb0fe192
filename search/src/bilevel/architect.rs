//! One search step, as DARTS' `Architect` (α) plus the weight update of `train_search.py`:
//! the α step (Adam, CE + λ·reg on an arch batch) and the weight step (SGD with global norm
//! clipping on a weight batch, with softmax(α) detached as mixing weights).
//!
//! Everything a step logs comes back to the host in one transfer at its end (no sync inside
//! it): losses, accuracies, the clip norm, α and its gradient. The gradient's split into CE and
//! regularizer parts uses the regularizer's closed-form gradient, not a second backward.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::SearchConfig;
use crate::arch_params::ArchParams;
use crate::darts::{perturb_on_device, perturbation_noise};
use crate::data::Batch;
use crate::loss::cross_entropy;
use crate::nn::{clip_grad_norm, frozen};
use crate::regularizer::{self, Regularizer, Setup};
use crate::rng::Rng;
use crate::space::{Supernet, SupernetShape};

/// Host figures of one half-step.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepStats {
    pub loss: f64,
    pub reg: f64,
    pub correct: usize,
    pub count: usize,
    pub grad_norm: f64,
    /// α step: ‖∂CE/∂α‖₂ and ‖∂(λ·reg)/∂α‖₂ (the two pulls on α).
    pub alpha_grad_ce: f64,
    pub alpha_grad_reg: f64,
}

/// What one full step reports: both halves and the α gradient of its α step.
#[derive(Debug, Clone, Default)]
pub struct StepReport {
    pub arch: StepStats,
    pub weights: StepStats,
    /// ∂(CE + λ·reg)/∂α, row-major per α tensor.
    pub alpha_grad: Vec<Vec<f32>>,
}

/// Network weights, α, and both optimizers' states.
pub struct Searcher {
    pub config: SearchConfig,
    pub net: Supernet,
    pub arch: ArchParams,
    pub optim_w: ModuleOptimizer,
    pub optim_a: ModuleOptimizer,
    /// The α regularizer, with whatever state it learns.
    pub reg: Box<dyn Regularizer>,
    /// The autodiff device everything lives on.
    pub device: Device,
}

/// Device values of the α half, read back with the weight half's.
struct ArchPending {
    ce: Tensor<1>,
    reg: Tensor<1>,
    correct: Tensor<1>,
    /// α as the forward saw it, and its gradient (flattened per tensor).
    alpha: Vec<Tensor<1>>,
    grad: Vec<Tensor<1>>,
}

struct WeightPending {
    ce: Tensor<1>,
    correct: Tensor<1>,
    norm: Option<Tensor<1>>,
}

impl Searcher {
    /// A fresh supernet and α, initialised from `config.seed` on `device`.
    pub fn new(config: SearchConfig, shape: SupernetShape, device: &Device) -> Self {
        let device = device.clone().autodiff();
        device.seed(config.seed);
        // α is drawn first, then the weights in module order (burn draws parameters lazily,
        // on first use): the order every seed has always meant.
        let arch = ArchParams::new(&config.space().alpha_shapes(), &device);
        let net = Supernet::new(config.space(), shape, &device);
        let (optim_w, optim_a) = build_optimizers(&config);
        let reg = config.regularizer.build(&Setup {
            alpha_shapes: &arch.shapes(),
            strength_lr: config.strength_lr,
            strength_max: config.strength_max,
        });
        Self {
            config,
            net,
            arch,
            optim_w,
            optim_a,
            reg,
            device,
        }
    }

    /// One search step: the α step on `arch_batch` (λ, temperature T), then the weight step on
    /// `weight_batch` (learning rate `lr`; `perturb` = (ε, generator) applies SDARTS random
    /// smoothing to the mixing weights). One host transfer at the end.
    pub fn step(
        &mut self,
        arch_batch: &Batch,
        weight_batch: &Batch,
        lambda: f64,
        temperature: f64,
        lr: f64,
        perturb: Option<(f64, &mut Rng)>,
    ) -> StepReport {
        let a = self.arch_half(arch_batch, lambda, temperature);
        let w = self.weight_half(weight_batch, lr, temperature, perturb);
        self.read_back(a, w, lambda, arch_batch.len, weight_batch.len)
    }

    /// α step: loss = CE(arch batch) + λ·reg(α) with β = softmax(α/T); one Adam step on α.
    fn arch_half(&mut self, batch: &Batch, lambda: f64, temperature: f64) -> ArchPending {
        // Weights take no gradient here: only α is updated, so skip their weight gradients.
        let net = frozen(&self.net);
        let alphas = self.arch.tensors();
        let logits = net.forward(batch.images.clone(), &self.arch.betas(temperature));
        let ce = cross_entropy(logits.clone(), batch.targets.clone());
        let reg = self.reg.loss(&alphas, self.config.aggregation);
        let loss = ce.clone() + reg.clone() * lambda;
        let grads = GradientsParams::from_grads(loss.backward(), &self.arch);
        let flat = |t: Tensor<2>| {
            let n = t.shape().num_elements();
            t.detach().reshape([n])
        };
        let grad = self
            .arch
            .alphas
            .iter()
            .zip(&alphas)
            .map(|(p, a)| {
                grads
                    .get::<2>(p.id)
                    .map_or_else(|| flat(a.zeros_like()), flat)
            })
            .collect();
        self.arch = self
            .optim_a
            .step(self.config.arch_lr, self.arch.clone(), grads);
        ArchPending {
            correct: correct(&logits, batch),
            ce: ce.detach(),
            reg: reg.detach(),
            alpha: alphas.into_iter().map(flat).collect(),
            grad,
        }
    }

    /// Weight step: CE(weight batch) with detached softmax(α); clip the global gradient norm;
    /// one SGD step on the network weights.
    fn weight_half(
        &mut self,
        batch: &Batch,
        lr: f64,
        temperature: f64,
        perturb: Option<(f64, &mut Rng)>,
    ) -> WeightPending {
        let include_mix = self.net.clip_includes_mixing_weights();
        let mut betas: Vec<Tensor<2>> = self
            .arch
            .betas(temperature)
            .into_iter()
            .map(|b| b.detach())
            .collect();
        if let Some((epsilon, rng)) = perturb {
            betas = betas
                .into_iter()
                .map(|b| {
                    let [rows, k] = b.dims();
                    let noise = perturbation_noise(rows * k, epsilon, rng);
                    let noise = Tensor::from_data(TensorData::new(noise, [rows, k]), &self.device);
                    perturb_on_device(b, noise)
                })
                .collect();
        }
        let mix: Vec<Tensor<2>> = betas
            .into_iter()
            .map(|b| if include_mix { b.require_grad() } else { b })
            .collect();
        let logits = self.net.forward(batch.images.clone(), &mix);
        let ce = cross_entropy(logits.clone(), batch.targets.clone());
        let mut grads = ce.backward();
        let extra: Vec<Tensor<1>> = if include_mix {
            mix.iter()
                .filter_map(|m| m.grad(&grads))
                .map(|g| {
                    let n = g.shape().num_elements();
                    g.reshape([n])
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut grads_w = GradientsParams::from_module(&mut grads, &self.net);
        let norm = clip_grad_norm(&self.net, &mut grads_w, self.config.grad_clip, &extra);
        self.net = self.optim_w.step(lr, self.net.clone(), grads_w);
        WeightPending {
            ce: ce.detach(),
            correct: correct(&logits, batch),
            norm,
        }
    }

    /// The step's one host transfer, then the host-side bookkeeping (gradient split, learned
    /// regularizer state).
    fn read_back(
        &mut self,
        a: ArchPending,
        w: WeightPending,
        lambda: f64,
        n_arch: usize,
        n_weights: usize,
    ) -> StepReport {
        let sizes: Vec<usize> = a.alpha.iter().map(|t| t.dims()[0]).collect();
        let mut parts = vec![
            a.ce,
            a.reg,
            a.correct,
            w.ce,
            w.correct,
            w.norm.unwrap_or_else(|| Tensor::zeros([1], &self.device)),
        ];
        parts.extend(a.alpha);
        parts.extend(a.grad);
        let v: Vec<f32> = Tensor::cat(parts, 0)
            .into_data()
            .convert::<f32>()
            .try_to_vec()
            .unwrap_or_default();
        let mut rest = v.get(6..).unwrap_or_default();
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at(n.min(rest.len()));
            rest = tail;
            head.to_vec()
        };
        let alphas: Vec<Vec<f32>> = sizes.iter().map(|&n| take(n)).collect();
        let total: Vec<Vec<f32>> = sizes.iter().map(|&n| take(n)).collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(f32::NAN) as f64;

        let k = self.arch.shapes().first().map_or(1, |s| s[1]);
        let reg_grad =
            regularizer::gradient(self.reg.as_ref(), &alphas, k, self.config.aggregation);
        let theta = self.reg.row_weights();
        let mut reg_part = reg_grad.clone();
        for (t, rows) in reg_part.iter_mut().enumerate() {
            for (e, row) in rows.chunks_mut(k).enumerate() {
                let f = lambda * theta.as_ref().map_or(1.0, |th| th[t][e]);
                row.iter_mut().for_each(|v| *v *= f as f32);
            }
        }
        let ce_grad: Vec<Vec<f32>> = total
            .iter()
            .zip(&reg_part)
            .map(|(g, r)| g.iter().zip(r).map(|(a, b)| a - b).collect())
            .collect();
        self.reg.observe(&ce_grad, &reg_grad, k, lambda);
        StepReport {
            arch: StepStats {
                loss: at(0),
                reg: at(1),
                correct: at(2).round() as usize,
                count: n_arch,
                alpha_grad_ce: super::diagnostics::l2_norm(&ce_grad),
                alpha_grad_reg: super::diagnostics::l2_norm(&reg_part),
                ..StepStats::default()
            },
            weights: StepStats {
                loss: at(3),
                correct: at(4).round() as usize,
                grad_norm: at(5),
                count: n_weights,
                ..StepStats::default()
            },
            alpha_grad: total,
        }
    }
}

/// The weight optimizer (SGD) and the α optimizer (Adam) of `config`, with empty state.
pub fn build_optimizers(config: &SearchConfig) -> (ModuleOptimizer, ModuleOptimizer) {
    // PyTorch SGD: momentum without dampening, coupled weight decay.
    let optim_w = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(config.w_momentum)
                .with_dampening(0.0),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(config.w_weight_decay as f32)))
        .init();
    // PyTorch Adam with coupled L2 (not AdamW), as the reference's arch optimizer.
    let optim_a = AdamConfig::new()
        .with_beta_1(config.arch_beta1 as f32)
        .with_beta_2(config.arch_beta2 as f32)
        .with_epsilon(config.arch_eps as f32)
        .with_weight_decay(Some(WeightDecayConfig::new(
            config.arch_weight_decay as f32,
        )))
        .init();
    (optim_w, optim_a)
}

/// Correct predictions of a batch, as a `[1]` device tensor.
fn correct(logits: &Tensor<2>, batch: &Batch) -> Tensor<1> {
    let pred = logits.clone().detach().argmax(1).reshape([batch.len]);
    pred.equal(batch.targets.clone()).float().sum()
}
