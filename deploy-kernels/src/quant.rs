//! An activation's round trip through 8 bits: ONNX `QuantizeLinear` (u8) then
//! `DequantizeLinear`, as one pass over the map.
//!
//! A QDQ model wraps every activation in such a pair; tract runs them as two ops (a u8 map in
//! between), the quantize one element at a time, the larger part of an INT8 DARTS_V2's time in
//! tract. This loop vectorises.

/// `x ← (clamp(round(x · inv_scale) + zq, 0, 255) − zd) · scale` in place, rounding half to even: ONNX's
/// formulas, as tract computes `QuantizeLinearU8` then `DequantizeLinearF32` (a NaN quantizes to
/// `zq`, as there; tract's integer sum wraps past x · inv_scale ≥ 2³¹, this saturates to 255).
/// `zq` must be within 0..=255.
pub fn quantize_dequantize_u8(
    xs: &mut [f32],
    (inv_scale, zq): (f32, i32),
    (scale, zd): (f32, i32),
) {
    assert!((0..=255).contains(&zq), "a u8 zero point");
    // 1.5 · 2²³: adding then subtracting it rounds |v| < 2²² to an integer, half to even (the
    // default rounding mode), where `round_ties_even` would be a libm call on baseline x86-64.
    // Integers this small are exact in f32, so the rest stays in floats: no float-to-int
    // conversion, which Rust saturates and LLVM then does one element at a time.
    const ROUND: f32 = 12_582_912.0;
    let (zq, zd) = (zq as f32, zd as f32);
    for x in xs {
        let v = *x * inv_scale;
        // Past ±1024 the final clamp decides whatever the exact value; a NaN counts as 0.
        let v = if v.is_nan() {
            0.0
        } else {
            v.clamp(-1024.0, 1024.0)
        };
        let q = (((v + ROUND) - ROUND) + zq).clamp(0.0, 255.0);
        *x = (q - zd) * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::quantize_dequantize_u8;

    /// The ONNX formulas, one element at a time with `round_ties_even`: the oracle.
    fn oracle(x: f32, (inv, zq): (f32, i32), (scale, zd): (f32, i32)) -> f32 {
        let r = (x * inv).round_ties_even() as i32; // saturating; NaN → 0
        let q = (r.saturating_add(zq)).clamp(0, 255);
        (q - zd) as f32 * scale
    }

    #[test]
    fn matches_the_formulas_bit_for_bit_on_ties_saturation_and_nan() {
        let (inv, zq, scale, zd) = (1.0 / 0.05, 128, 0.05, 128);
        let mut x: Vec<f32> = (-4000..4000).map(|i| i as f32 * 0.0125).collect(); // ties at ±0.025
        x.extend([
            0.0,
            -0.0,
            1e30,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            6.4,
            -6.45,
        ]);
        for (q, d) in [
            ((inv, zq), (scale, zd)),
            ((7.3, 0), (0.137, 0)),
            ((0.5, 255), (2.0, 255)),
        ] {
            let mut y = x.clone();
            quantize_dequantize_u8(&mut y, q, d);
            for (x, y) in x.iter().zip(&y) {
                assert_eq!(
                    y.to_bits(),
                    oracle(*x, q, d).to_bits(),
                    "x = {x}, {q:?} {d:?}"
                );
            }
        }
    }
}
