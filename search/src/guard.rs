//! The numerical guard of search and training: a loss, gradient norm or α that is not finite
//! stops the run at once, before that epoch's checkpoint is written, so the last checkpoint on
//! disk is the last good state. (A NaN left running trains on: the next checkpoint would hold
//! NaN α and the run would end "successfully" with an all-`none` cell.)

use crate::bilevel::StepReport;
use crate::{Error, Result};

/// Where in the run a value went bad.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// 0-based epoch.
    pub epoch: usize,
    /// 1-based step within it; `None` for an end-of-epoch check.
    pub step: Option<usize>,
}

/// Err when `value` is NaN or infinite, naming the quantity, the place and the likely cause.
pub fn finite(what: &str, value: f64, at: At, cause: &str) -> Result<()> {
    if value.is_finite() {
        return Ok(());
    }
    let place = match at.step {
        Some(s) => format!("epoch {} (0-based), step {s}", at.epoch),
        None => format!("the end of epoch {} (0-based)", at.epoch),
    };
    // Checkpoints are written at the end of each epoch, so one exists unless this is the first.
    let kept = if at.epoch == 0 {
        "no epoch had finished, so there is no checkpoint to go back to".to_string()
    } else {
        format!(
            "nothing of this epoch was saved: the checkpoint of epoch {} is kept and `--resume` \
             continues from it (with the same settings it will diverge again)",
            at.epoch - 1
        )
    };
    Err(Error::Diverged(format!(
        "{what} is {value} at {place}: the run diverged and was stopped. Likely cause: {cause}. \
         {kept}"
    )))
}

const LR: &str =
    "a learning rate too high for this network (or NaN), or a gradient clip set too loose";
// The α step runs on the weights of the step before, so weights blown up by the weight step
// show here first.
const ARCH_LR: &str = "a learning rate too high (or NaN): the weights' (--w-lr), which shows in \
    the next α step, or α's (--arch-lr) or λ; or a NaN in the data";

/// Both halves of one search step: their losses, the weight gradient norm, the α gradients.
pub fn check_step(r: &StepReport, epoch: usize, step: usize) -> Result<()> {
    let at = At {
        epoch,
        step: Some(step),
    };
    finite("the α-step loss", r.arch.loss, at, ARCH_LR)?;
    finite(
        "the α gradient (CE part)",
        r.arch.alpha_grad_ce,
        at,
        ARCH_LR,
    )?;
    finite(
        "the α gradient (regularizer part)",
        r.arch.alpha_grad_reg,
        at,
        ARCH_LR,
    )?;
    finite("the regularizer", r.arch.reg, at, ARCH_LR)?;
    finite("the weight-step loss", r.weights.loss, at, LR)?;
    finite("the weight gradient norm", r.weights.grad_norm, at, LR)
}

/// α after an epoch, before it is recorded or saved.
pub fn check_alpha(alphas: &[Vec<f32>], epoch: usize) -> Result<()> {
    let bad = alphas.iter().flatten().find(|v| !v.is_finite());
    match bad {
        Some(&v) => finite("an α entry", v as f64, At { epoch, step: None }, ARCH_LR),
        None => Ok(()),
    }
}

/// One training step: its loss and gradient norm.
pub fn check_train_step(loss: f64, grad_norm: f64, at: At) -> Result<()> {
    finite("the training loss", loss, at, LR)?;
    finite("the gradient norm", grad_norm, at, LR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_quantity_the_place_and_the_cause() {
        let at = At {
            epoch: 3,
            step: Some(12),
        };
        assert!(finite("x", 1.5, at, LR).is_ok());
        let e = finite("the training loss", f64::NAN, at, LR)
            .unwrap_err()
            .to_string();
        assert!(e.contains("NaN") && e.contains("epoch 3"), "{e}");
        assert!(e.contains("checkpoint of epoch 2 is kept"), "{e}");
        assert!(e.contains("step 12") && e.contains("learning rate"), "{e}");
        let mut r = StepReport::default();
        assert!(check_step(&r, 0, 1).is_ok());
        r.weights.grad_norm = f64::INFINITY;
        let e = check_step(&r, 0, 1).unwrap_err().to_string();
        assert!(e.contains("weight gradient norm is inf"), "{e}");
        let e = check_alpha(&[vec![0.0, f32::NAN]], 2).unwrap_err();
        assert!(e.to_string().contains("end of epoch 2"), "{e}");
    }
}
