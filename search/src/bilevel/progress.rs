//! What a running search reports as it goes: running means and the observer that draws them.

use super::architect::StepStats;
use super::history::EpochRecord;

/// Running means over an epoch, for progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Running {
    pub loss_sum: f64,
    pub reg_sum: f64,
    pub norm_sum: f64,
    pub alpha_ce_sum: f64,
    pub alpha_reg_sum: f64,
    pub correct: usize,
    pub count: usize,
    pub steps: usize,
}

impl Running {
    pub(super) fn add(&mut self, s: &StepStats) {
        self.loss_sum += s.loss * s.count as f64;
        self.reg_sum += s.reg;
        self.norm_sum += s.grad_norm;
        self.alpha_ce_sum += s.alpha_grad_ce;
        self.alpha_reg_sum += s.alpha_grad_reg;
        self.correct += s.correct;
        self.count += s.count;
        self.steps += 1;
    }
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }
    pub fn acc(&self) -> f64 {
        100.0 * self.correct as f64 / self.count.max(1) as f64
    }
}

/// Receives progress; the CLI draws bars from it.
pub trait Observer {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    fn step(&mut self, _step: usize, _train: &Running, _arch: &Running) {}
    fn epoch_end(&mut self, _record: &EpochRecord) {}
}

pub struct SilentObserver;
impl Observer for SilentObserver {}
