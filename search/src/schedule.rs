//! λ schedules for the regularizer and the cosine learning rate of the weight step.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// λ as a function of the 0-based epoch, constant within an epoch.
///
/// `Linear` is the code-literal β-DARTS ramp `λ_e = start + (end − start)·e/ref_epochs`
/// (default 0 → 50 over 100 epochs); with `start > end` it is the linear decrease of the
/// paper's ablation. It holds at `end` after `ref_epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LambdaSchedule {
    Constant {
        value: f64,
    },
    Linear {
        start: f64,
        end: f64,
        ref_epochs: usize,
    },
}

impl Default for LambdaSchedule {
    fn default() -> Self {
        LambdaSchedule::Linear {
            start: 0.0,
            end: 50.0,
            ref_epochs: 100,
        }
    }
}

impl LambdaSchedule {
    pub fn value(&self, epoch: usize) -> f64 {
        match *self {
            LambdaSchedule::Constant { value } => value,
            LambdaSchedule::Linear {
                start,
                end,
                ref_epochs,
            } => {
                let t = (epoch as f64 / ref_epochs.max(1) as f64).min(1.0);
                start + (end - start) * t
            }
        }
    }

    /// Parses `constant:V`, `linear:START:END[:REF]` or `decrease:START:END[:REF]`.
    /// Without REF the ramp spans `epochs` (the run's length).
    pub fn parse(s: &str, epochs: usize) -> Result<Self, Error> {
        let bad = || {
            Error::Invalid(format!(
                "--lambda-schedule {s:?}: expected constant:V, linear:START:END[:REF_EPOCHS] \
                 or decrease:START:END[:REF_EPOCHS]"
            ))
        };
        let parts: Vec<&str> = s.split(':').collect();
        let num = |i: usize| -> Result<f64, Error> {
            parts
                .get(i)
                .ok_or_else(bad)?
                .parse::<f64>()
                .map_err(|_| bad())
        };
        match parts[0] {
            "constant" if parts.len() == 2 => Ok(LambdaSchedule::Constant { value: num(1)? }),
            "linear" | "decrease" if parts.len() == 3 || parts.len() == 4 => {
                let (start, end) = (num(1)?, num(2)?);
                if parts[0] == "decrease" && start < end {
                    return Err(Error::Invalid(format!(
                        "--lambda-schedule {s:?}: a decrease needs START ≥ END"
                    )));
                }
                let ref_epochs = match parts.get(3) {
                    Some(r) => r.parse::<usize>().map_err(|_| bad())?,
                    None => epochs,
                };
                if ref_epochs == 0 {
                    return Err(bad());
                }
                Ok(LambdaSchedule::Linear {
                    start,
                    end,
                    ref_epochs,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for LambdaSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LambdaSchedule::Constant { value } => write!(f, "constant:{value}"),
            LambdaSchedule::Linear {
                start,
                end,
                ref_epochs,
            } => {
                write!(f, "linear:{start}:{end}:{ref_epochs}")
            }
        }
    }
}

impl FromStr for LambdaSchedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        LambdaSchedule::parse(s, 100)
    }
}

/// Cosine annealing from `max` to `min` over `epochs`, stepped at the start of each epoch.
/// With `shifted` (PyTorch ≥ 1.1 semantics, the reference) epoch e uses position e + 1, so the
/// last epoch runs exactly at `min`; without it, position e (original DARTS on PyTorch 0.4).
pub fn cosine_lr(epoch: usize, epochs: usize, max: f64, min: f64, shifted: bool) -> f64 {
    let pos = if shifted { epoch + 1 } else { epoch } as f64;
    let t = (pos / epochs.max(1) as f64).min(1.0);
    min + 0.5 * (max - min) * (1.0 + (std::f64::consts::PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ramp_is_the_code_literal_epoch_over_two() {
        let s = LambdaSchedule::default();
        for e in [0, 1, 37, 99] {
            assert!((s.value(e) - e as f64 / 2.0).abs() < 1e-12);
        }
    }

    #[test]
    fn parsing_and_decrease() {
        let s = LambdaSchedule::parse("decrease:25:0", 50).unwrap();
        assert_eq!(s.value(0), 25.0);
        assert!((s.value(25) - 12.5).abs() < 1e-12);
        assert_eq!(s.value(80), 0.0, "holds at the end value");
        assert_eq!(
            LambdaSchedule::parse("constant:5", 10).unwrap().value(7),
            5.0
        );
        assert_eq!(
            LambdaSchedule::parse("linear:0:50:100", 10).unwrap(),
            LambdaSchedule::default()
        );
        assert!(LambdaSchedule::parse("decrease:0:25", 10).is_err());
        assert!(LambdaSchedule::parse("ramp:1", 10).is_err());
        let round: LambdaSchedule = LambdaSchedule::default().to_string().parse().unwrap();
        assert_eq!(round, LambdaSchedule::default());
    }

    #[test]
    fn cosine_matches_the_closed_form() {
        // spec §2: lr_e = 0.001 + 0.012·(1 + cos(π(e+1)/E)).
        for e in 0..50 {
            let want = 0.001 + 0.012 * (1.0 + (std::f64::consts::PI * (e + 1) as f64 / 50.0).cos());
            assert!((cosine_lr(e, 50, 0.025, 0.001, true) - want).abs() < 1e-12);
        }
        assert!((cosine_lr(49, 50, 0.025, 0.001, true) - 0.001).abs() < 1e-12);
        assert_eq!(cosine_lr(0, 50, 0.025, 0.001, false), 0.025);
    }
}
