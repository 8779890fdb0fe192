//! Flag values with a valid range, refused by the parser (exit 2, naming the flag) outside it.
//! The workstation CLI uses the same parsers.

/// A count in `LO..=HI` (`value_parser = within::<1, 1024>`).
pub fn within<const LO: usize, const HI: usize>(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (LO..=HI).contains(&n) => Ok(n),
        Ok(_) => Err(format!("must lie in {LO}..={HI}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A count that must be at least 1 (batch sizes, queue lengths, top-k): 0 would make the
/// command loop forever or answer nothing.
pub fn count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A duration in seconds: finite, > 0 and at most a day.
pub fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err("must be a number of seconds > 0 and ≤ 86400".into())
    }
}
