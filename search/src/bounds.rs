//! The ranges sizes and rates may take, in one place: search and training configs check them
//! before anything is allocated or run (also when a resumed run's config.json was edited), so
//! that a slip (`--channels 100000`, `--lr nan`) is an error naming the flag, not an allocation
//! abort or a silently diverged run minutes later.

use crate::{Error, Result};

/// Widest initial channel count accepted (the published networks use 16–48).
pub const MAX_CHANNELS: usize = 1024;
/// Most cells per stage (search) or in all (training; the published networks use 5–20).
pub const MAX_CELLS: usize = 128;
/// Largest image side (ImageNet training uses 224).
pub const MAX_IMAGE: usize = 1024;
/// Largest batch.
pub const MAX_BATCH: usize = 1 << 16;

/// `value` in `lo..=hi`, else an error naming `flag`.
pub fn size(flag: &str, value: usize, lo: usize, hi: usize, why: &str) -> Result<()> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    Err(Error::Invalid(format!(
        "{flag} {value} is out of range: it must lie in {lo}..={hi}{why}"
    )))
}

/// A finite value ≥ 0 (learning rates, weight decay, momentum terms).
pub fn rate(flag: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{flag} {value} must be a finite number ≥ 0"
    )))
}

/// A finite value > 0 (gradient clip, Adam's ε).
pub fn positive(flag: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{flag} {value} must be a finite number > 0"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_flag_and_the_range() {
        assert!(size("--channels", 16, 1, MAX_CHANNELS, "").is_ok());
        let e = size("--channels", 100_000, 1, MAX_CHANNELS, "")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--channels 100000") && e.contains("1..=1024"),
            "{e}"
        );
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            assert!(rate("--lr", bad).unwrap_err().to_string().contains("--lr"));
        }
        assert!(rate("--lr", 0.0).is_ok() && positive("--grad-clip", 0.0).is_err());
    }
}
