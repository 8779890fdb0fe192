//! One search step, as DARTS' `Architect` (α) plus the weight update of `train_search.py`:
//! the α step (Adam, CE + λ·reg on an arch batch) and the weight step (SGD with global norm
//! clipping on a weight batch, with softmax(α) detached as mixing weights).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::SearchConfig;
use crate::arch_params::ArchParams;
use crate::darts::random_perturbation;
use crate::data::Batch;
use crate::decay_strength::DecayStrength;
use crate::loss::cross_entropy;
use crate::nn::{clip_grad_norm, frozen};
use crate::regularizer::{Regularizer, RegularizerKind};
use crate::rng::Rng;
use crate::space::{Supernet, SupernetShape};

/// Host figures of one step.
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

/// Network weights, α, and both optimizers' states.
pub struct Searcher {
    pub config: SearchConfig,
    pub net: Supernet,
    pub arch: ArchParams,
    pub optim_w: ModuleOptimizer,
    pub optim_a: ModuleOptimizer,
    reg: Box<dyn Regularizer>,
    /// Learned per-edge strengths (`beta-learned` only).
    pub strength: Option<DecayStrength>,
    /// The autodiff device everything lives on.
    pub device: Device,
}

impl Searcher {
    /// A fresh supernet and α, initialised from `config.seed` on `device`.
    pub fn new(config: SearchConfig, shape: SupernetShape, device: &Device) -> Self {
        let device = device.clone().autodiff();
        device.seed(config.seed);
        let net = Supernet::new(config.space(), shape, &device);
        let arch = ArchParams::new(&config.space().alpha_shapes(), &device);
        let (optim_w, optim_a) = build_optimizers(&config);
        let reg = config.regularizer.build();
        let strength = (config.regularizer == RegularizerKind::BetaLearned)
            .then(|| DecayStrength::new(&arch.shapes(), config.strength_max, config.strength_lr));
        Self {
            config,
            net,
            arch,
            optim_w,
            optim_a,
            reg,
            strength,
            device,
        }
    }

    /// α step: loss = CE(arch batch) + λ·reg(α) with β = softmax(α/T); one Adam step on α only.
    pub fn arch_step(&mut self, batch: &Batch, lambda: f64, temperature: f64) -> StepStats {
        // Weights take no gradient here: only α is updated, so skip their weight gradients.
        // (BN still runs on batch statistics and updates the shared running estimates.)
        let net = frozen(&self.net);
        let alphas = self.arch.tensors();
        let logits = net.forward(batch.images.clone(), &self.arch.betas(temperature));
        let ce = cross_entropy(logits.clone(), batch.targets.clone());
        let reg = match &self.strength {
            Some(s) => s.loss(&alphas, self.config.aggregation, &self.device),
            None => self.reg.loss(&alphas, self.config.aggregation),
        };
        let loss = ce.clone() + reg.clone() * lambda;
        let grads = GradientsParams::from_grads(loss.backward(), &self.arch);
        // Split the α gradient into its CE and regularizer parts (diagnostics, learned θ):
        // the regularizer's own gradient is cheap to recompute on a detached copy of α.
        let total: Vec<Vec<f32>> = self
            .arch
            .alphas
            .iter()
            .map(|p| host(grads.get::<2>(p.id).map(|g| g.into_data())))
            .collect();
        let reg_grad = self.reg_gradient(&alphas);
        let k = alphas.first().map_or(1, |a| a.dims()[1]);
        let theta = self.strength.as_ref().map(|s| s.theta());
        let mut reg_part = reg_grad.clone();
        for (t, rows) in reg_part.iter_mut().enumerate() {
            for (e, row) in rows.chunks_mut(k).enumerate() {
                let w = lambda * theta.as_ref().map_or(1.0, |th| th[t][e]);
                row.iter_mut().for_each(|v| *v *= w as f32);
            }
        }
        let ce_grad: Vec<Vec<f32>> = total
            .iter()
            .zip(&reg_part)
            .map(|(g, r)| g.iter().zip(r).map(|(a, b)| a - b).collect())
            .collect();
        if let Some(s) = self.strength.as_mut() {
            s.update(&ce_grad, &reg_grad, k, lambda);
        }
        self.arch = self
            .optim_a
            .step(self.config.arch_lr, self.arch.clone(), grads);
        let mut stats = host_stats(ce, Some(reg), logits, batch);
        stats.count = batch.len;
        stats.alpha_grad_ce = super::diagnostics::l2_norm(&ce_grad);
        stats.alpha_grad_reg = super::diagnostics::l2_norm(&reg_part);
        stats
    }

    /// ∂reg/∂α on the host (θ = 1, no λ), one row-major vector per α tensor.
    fn reg_gradient(&self, alphas: &[Tensor<2>]) -> Vec<Vec<f32>> {
        let leaves: Vec<Tensor<2>> = alphas
            .iter()
            .map(|a| a.clone().detach().require_grad())
            .collect();
        let g = self.reg.loss(&leaves, self.config.aggregation).backward();
        leaves
            .iter()
            .map(|l| {
                let v = host(l.grad(&g).map(|t| t.into_data()));
                if v.is_empty() {
                    vec![0.0; l.shape().num_elements()]
                } else {
                    v
                }
            })
            .collect()
    }

    /// Weight step: CE(weight batch) with detached softmax(α); clip the global gradient norm;
    /// one SGD step on the network weights.
    /// `perturb` = (ε, generator) applies SDARTS random smoothing to the mixing weights.
    pub fn weight_step(
        &mut self,
        batch: &Batch,
        lr: f64,
        temperature: f64,
        perturb: Option<(f64, &mut Rng)>,
    ) -> StepStats {
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
                    let mut v: Vec<f32> = b
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec()
                        .unwrap_or_default();
                    random_perturbation(&mut v, k, epsilon, rng);
                    Tensor::from_data(TensorData::new(v, [rows, k]), &self.device)
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
        let extra = if include_mix {
            mix.iter()
                .filter_map(|m| m.grad(&grads))
                .map(|g| g.square().sum())
                .reduce(|a, b| a + b)
        } else {
            None
        };
        let mut grads_w = GradientsParams::from_module(&mut grads, &self.net);
        let norm = clip_grad_norm(&self.net, &mut grads_w, self.config.grad_clip, extra);
        self.net = self.optim_w.step(lr, self.net.clone(), grads_w);
        let mut stats = host_stats(ce, None, logits, batch);
        stats.grad_norm = norm;
        stats.count = batch.len;
        stats
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

fn host(data: Option<TensorData>) -> Vec<f32> {
    data.and_then(|d| d.convert::<f32>().try_to_vec().ok())
        .unwrap_or_default()
}

/// Brings loss, regularizer value and correct count to the host in one transfer.
fn host_stats(
    ce: Tensor<1>,
    reg: Option<Tensor<1>>,
    logits: Tensor<2>,
    batch: &Batch,
) -> StepStats {
    let n = batch.len;
    let pred = logits.detach().argmax(1).reshape([n]);
    let correct = pred.equal(batch.targets.clone()).float().sum();
    let reg = reg
        .map(|r| r.detach())
        .unwrap_or_else(|| correct.zeros_like());
    let v: Vec<f32> = Tensor::cat(vec![ce.detach(), reg, correct], 0)
        .into_data()
        .try_to_vec()
        .unwrap_or_default();
    StepStats {
        loss: v.first().copied().unwrap_or(f32::NAN) as f64,
        reg: v.get(1).copied().unwrap_or(0.0) as f64,
        correct: v.get(2).copied().unwrap_or(0.0).round() as usize,
        count: n,
        ..StepStats::default()
    }
}
