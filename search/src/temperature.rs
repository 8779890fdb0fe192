//! Temperature decay (TD-DARTS): the mixing weights are β = softmax(α / T_e) with the temperature
//! T_e falling per epoch, the "α/T^t" baseline the β-DARTS paper argues gains little: a lower T
//! only sharpens β without changing which α is largest, so derivation (argmax α) is unchanged and
//! the gradient reaching α is scaled by 1/T.
//!
//! | schedule | T_e (e = 0 … E−1) |
//! |---|---|
//! | `none` | 1 |
//! | `constant:T` | T |
//! | `exponential:T0:TMIN` | T0·γ^e with γ = (TMIN/T0)^(1/(E−1)): the α/T^t form, reaching TMIN at the last epoch |
//! | `linear:T0:TMIN` | T0 + (TMIN − T0)·e/(E−1) |

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TemperatureSchedule {
    /// T = 1: plain softmax(α).
    #[default]
    None,
    Constant {
        t: f64,
    },
    Exponential {
        t0: f64,
        t_min: f64,
    },
    Linear {
        t0: f64,
        t_min: f64,
    },
}

impl TemperatureSchedule {
    /// T at 0-based `epoch` of a run of `epochs` epochs; holds at TMIN past the end.
    pub fn value(&self, epoch: usize, epochs: usize) -> f64 {
        let frac = if epochs <= 1 {
            0.0
        } else {
            (epoch as f64 / (epochs - 1) as f64).min(1.0)
        };
        match *self {
            TemperatureSchedule::None => 1.0,
            TemperatureSchedule::Constant { t } => t,
            TemperatureSchedule::Exponential { t0, t_min } => t0 * (t_min / t0).powf(frac),
            TemperatureSchedule::Linear { t0, t_min } => t0 + (t_min - t0) * frac,
        }
    }

    /// Parses `none`, `constant:T`, `exponential:T0:TMIN` (alias `exp`) or `linear:T0:TMIN`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::Invalid(format!(
                "--temperature {s:?}: {why} (expected none, constant:T, exponential:T0:TMIN or \
                 linear:T0:TMIN, all temperatures > 0)"
            ))
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |i: usize| -> Result<f64, Error> {
            let v: f64 = parts[i]
                .parse()
                .map_err(|_| bad(&format!("{:?} is not a number", parts[i])))?;
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(bad(&format!("{v} is not a positive temperature")))
            }
        };
        match (parts[0], parts.len()) {
            ("none", 1) => Ok(TemperatureSchedule::None),
            ("constant", 2) => Ok(TemperatureSchedule::Constant { t: num(1)? }),
            ("exponential" | "exp", 3) => Ok(TemperatureSchedule::Exponential {
                t0: num(1)?,
                t_min: num(2)?,
            }),
            ("linear", 3) => Ok(TemperatureSchedule::Linear {
                t0: num(1)?,
                t_min: num(2)?,
            }),
            _ => Err(bad("unknown form")),
        }
    }
}

impl fmt::Display for TemperatureSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TemperatureSchedule::None => f.write_str("none"),
            TemperatureSchedule::Constant { t } => write!(f, "constant:{t}"),
            TemperatureSchedule::Exponential { t0, t_min } => write!(f, "exponential:{t0}:{t_min}"),
            TemperatureSchedule::Linear { t0, t_min } => write!(f, "linear:{t0}:{t_min}"),
        }
    }
}

impl std::str::FromStr for TemperatureSchedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TemperatureSchedule::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch_params::softmax_rows;

    #[test]
    fn values_at_chosen_epochs() {
        // Exponential 1 → 0.01 over 3 epochs: γ = 0.1, so T = 1, 0.1, 0.01.
        let exp = TemperatureSchedule::parse("exponential:1:0.01").unwrap();
        for (e, want) in [(0, 1.0), (1, 0.1), (2, 0.01)] {
            assert!((exp.value(e, 3) - want).abs() < 1e-12, "epoch {e}");
        }
        assert!((exp.value(7, 3) - 0.01).abs() < 1e-12, "holds at TMIN");
        // Linear 1 → 0.1 over 10 epochs: T = 1 − 0.1·e.
        let lin = TemperatureSchedule::parse("linear:1:0.1").unwrap();
        for e in 0..10 {
            assert!((lin.value(e, 10) - (1.0 - 0.1 * e as f64)).abs() < 1e-12);
        }
        // Exponential 5 → 0.05 over 100 epochs: the midpoint is the geometric mean 0.5.
        let exp = TemperatureSchedule::parse("exp:5:0.05").unwrap();
        assert!((exp.value(0, 101) - 5.0).abs() < 1e-12);
        assert!((exp.value(50, 101) - 0.5).abs() < 1e-12);
        assert_eq!(TemperatureSchedule::None.value(42, 50), 1.0);
        assert_eq!(
            TemperatureSchedule::parse("constant:0.5")
                .unwrap()
                .value(3, 9),
            0.5
        );
        assert_eq!(exp.value(0, 1), 5.0, "a one-epoch run stays at T0");
    }

    #[test]
    fn parsing_round_trips_and_rejects_bad_input() {
        for s in [
            "none",
            "constant:0.5",
            "exponential:1:0.01",
            "linear:10:0.1",
        ] {
            let t = TemperatureSchedule::parse(s).unwrap();
            assert_eq!(TemperatureSchedule::parse(&t.to_string()).unwrap(), t);
        }
        for s in [
            "exp:1",
            "linear:1:0",
            "constant:-1",
            "cosine:1:0.1",
            "exp:a:b",
        ] {
            assert!(TemperatureSchedule::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn softmax_limits_in_temperature() {
        let alpha = [0.3f32, -0.2, 0.9, 0.1, 0.0];
        // T → 0: one-hot on the largest α.
        let cold = softmax_rows(&alpha, 5, 1e-3);
        assert!((cold[2] - 1.0).abs() < 1e-6);
        assert!(cold.iter().enumerate().all(|(i, &b)| i == 2 || b < 1e-6));
        // T large: uniform.
        let hot = softmax_rows(&alpha, 5, 1e4);
        assert!(hot.iter().all(|&b| (b - 0.2).abs() < 1e-4));
        // The argmax never depends on T.
        for t in [0.01, 0.3, 1.0, 7.0] {
            let b = softmax_rows(&alpha, 5, t);
            let arg = b
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0;
            assert_eq!(arg, 2);
        }
    }

    #[test]
    fn network_mixing_weights_follow_the_temperature() {
        // The β the supernet receives (ArchParams::betas on a device) has the same limits.
        use crate::arch_params::ArchParams;
        let device = burn::tensor::Device::flex();
        let arch = ArchParams::from_values(&[(vec![0.3, -0.2, 0.9, 0.1, 0.0], [1, 5])], &device);
        let host =
            |t: f64| -> Vec<f32> { arch.betas(t)[0].clone().into_data().try_to_vec().unwrap() };
        let cold = host(1e-3);
        assert!((cold[2] - 1.0).abs() < 1e-6 && cold.iter().sum::<f32>() > 0.999);
        assert!(host(1e4).iter().all(|&b| (b - 0.2).abs() < 1e-4));
        let mid = host(0.5);
        let want = softmax_rows(&[0.3, -0.2, 0.9, 0.1, 0.0], 5, 0.5);
        for (a, b) in mid.iter().zip(want) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
