//! Strided copies with an activation on the way.

/// `dst[i] = act(src[i · stride])` for every `dst[i]`; `src` holds at least
/// `(dst.len() − 1) · stride + 1` values.
#[inline(always)]
pub fn every_nth(dst: &mut [f32], src: &[f32], stride: usize, act: impl Fn(f32) -> f32) {
    match stride {
        1 => dst.iter_mut().zip(src).for_each(|(d, v)| *d = act(*v)),
        // Every other value (all DARTS reductions): as pairs, then the odd one out, so that the
        // compiler sees a constant stride.
        2 => {
            let pairs = src[..(dst.len() * 2).min(src.len())].chunks_exact(2);
            let last = pairs.remainder().first().copied();
            let n = pairs.len();
            dst.iter_mut().zip(pairs).for_each(|(d, v)| *d = act(v[0]));
            if let Some(v) = last {
                dst[n] = act(v);
            }
        }
        _ => dst
            .iter_mut()
            .enumerate()
            .for_each(|(i, d)| *d = act(src[i * stride])),
    }
}

#[cfg(test)]
mod tests {
    use super::every_nth;

    #[test]
    fn every_stride_takes_the_same_values_as_an_index_loop() {
        let src: Vec<f32> = (0..23).map(|i| i as f32 - 11.0).collect();
        let relu = |v: f32| if v > 0.0 { v } else { 0.0 };
        for stride in 1..=4 {
            for n in 1..=(src.len() - 1) / stride + 1 {
                let mut dst = vec![f32::NAN; n];
                every_nth(&mut dst, &src[..(n - 1) * stride + 1], stride, relu);
                let want: Vec<f32> = (0..n).map(|i| relu(src[i * stride])).collect();
                assert_eq!(dst, want, "stride {stride}, {n} values");
            }
        }
    }
}
