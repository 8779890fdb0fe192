//! [`Fused`] on burn's flex backend: unwrap the tensors to contiguous f32 slices and run the
//! slice kernels of [`super::cpu`]. Other float dtypes are computed in f32 and cast back.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, FloatDType, TensorData};

use super::cpu::mix::Term;
use super::cpu::{conv, depthwise, max_pool, mix, norm, pool};
use super::{Fused, FusedGrad, GammaLayout, Geometry, MixSpec};

/// The tensor's values as a contiguous f32 slice (a copy only when it is a strided view or
/// another dtype).
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    if t.dtype() != DType::F32 {
        let cast = Flex::float_cast(t.clone(), FloatDType::F32);
        return Cow::Owned(values(&cast).into_owned());
    }
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .unwrap_or_default()
                .to_vec(),
        ),
    }
}

/// A new tensor of `shape` holding `v`, in `dtype` (f32 unless the input was another float).
fn tensor(v: Vec<f32>, shape: &[usize], dtype: DType) -> FlexTensor {
    let t = FlexTensor::from_data(TensorData::new(v, shape.to_vec()));
    if dtype == DType::F32 {
        t
    } else {
        Flex::float_cast(t, FloatDType::from(dtype))
    }
}

fn nchw(t: &FlexTensor) -> [usize; 4] {
    let s = t.shape();
    [s[0], s[1], s[2], s[3]]
}

fn conv_shape(x: &FlexTensor, weight: &FlexTensor) -> conv::Shape {
    let [n, ci, h, w] = nchw(x);
    conv::Shape {
        n,
        ci,
        h,
        w,
        co: weight.shape()[0],
    }
}

fn depthwise_shape(x: &FlexTensor, weight: &FlexTensor) -> depthwise::Shape {
    let [n, c, h, w] = nchw(x);
    let m = weight.shape()[0] / c.max(1);
    depthwise::Shape { n, c, m, h, w }
}

impl Fused for Flex {
    fn fused_depthwise(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        let s = depthwise_shape(&x, &weight);
        let y = depthwise::forward(&values(&x), &values(&weight), s, &g);
        tensor(
            y,
            &[s.n, s.m * s.c, g.out(0, s.h), g.out(1, s.w)],
            x.dtype(),
        )
    }

    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        g: Geometry,
    ) -> FloatTensor<Self> {
        let s = conv_shape(&x, &weight);
        let y = conv::conv_forward(&values(&x), &values(&weight), s, &g);
        tensor(y, &[s.n, s.co, g.out(0, s.h), g.out(1, s.w)], x.dtype())
    }

    fn fused_max_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let [n, c, h, w] = nchw(&x);
        let y = max_pool::max_pool3_forward(&values(&x), h, w, stride);
        let (ho, wo) = (pool::pooled(h, stride), pool::pooled(w, stride));
        tensor(y, &[n, c, ho, wo], x.dtype())
    }

    fn fused_avg_pool3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let [n, c, h, w] = nchw(&x);
        let y = pool::avg_pool3_forward(&values(&x), h, w, stride);
        let (ho, wo) = (pool::pooled(h, stride), pool::pooled(w, stride));
        tensor(y, &[n, c, ho, wo], x.dtype())
    }

    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        beta: Option<FloatTensor<Self>>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [n, c, h, w] = nchw(&x);
        let gamma = gamma.map(|(g, l)| per_channel(&values(&g), &l, c));
        let beta = beta.map(|b| values(&b).into_owned());
        let (y, mean, invstd) = norm::batch_norm_forward(
            &values(&x),
            n,
            c,
            h * w,
            gamma.as_deref(),
            beta.as_deref(),
            epsilon,
        );
        let dtype = x.dtype();
        (
            tensor(y, &[n, c, h, w], dtype),
            tensor(mean, &[c], dtype),
            tensor(invstd, &[c], dtype),
        )
    }

    fn fused_mix(
        terms: Vec<FloatTensor<Self>>,
        weights: FloatTensor<Self>,
        spec: MixSpec,
    ) -> FloatTensor<Self> {
        let [n, _, h, w] = nchw(&terms[0]);
        let data: Vec<Cow<[f32]>> = terms.iter().map(values).collect();
        let wv = values(&weights);
        let t = mix_terms(&terms, &data, &wv, &spec);
        let y = mix::mix_forward(&t, n, spec.channels, h * w);
        tensor(y, &[n, spec.channels, h, w], terms[0].dtype())
    }
}

/// γ per channel: as given, or gathered from flat weights per channel block.
fn per_channel(g: &[f32], layout: &GammaLayout, c: usize) -> Vec<f32> {
    match layout {
        GammaLayout::PerChannel => g.to_vec(),
        GammaLayout::Blocks(idx) => {
            let per = c / idx.len().max(1);
            (0..c).map(|ch| g[idx[ch / per]]).collect()
        }
    }
}

/// Per-channel γ gradients summed into the flat weights they were gathered from.
fn fold_blocks(dgamma: &[f32], blocks: &[usize], len: usize) -> Vec<f32> {
    let per = dgamma.len() / blocks.len().max(1);
    let mut out = vec![0.0f32; len];
    for (b, &i) in blocks.iter().enumerate() {
        out[i] += dgamma[b * per..(b + 1) * per].iter().sum::<f32>();
    }
    out
}

fn mix_terms<'a>(
    terms: &[FlexTensor],
    data: &'a [Cow<'a, [f32]>],
    weights: &[f32],
    spec: &MixSpec,
) -> Vec<Term<'a>> {
    terms
        .iter()
        .zip(data)
        .enumerate()
        .map(|(m, (t, d))| Term {
            data: d,
            total: nchw(t)[1],
            offset: spec.offsets[m],
            weight: spec.weights[m].map_or(1.0, |i| weights[i]),
        })
        .collect()
}

impl FusedGrad for Flex {
    fn fused_depthwise_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        g: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let s = depthwise_shape(&x, &weight);
        let dtype = x.dtype();
        let gv = values(&grad);
        let dweight = need_weight.then(|| {
            let dw = depthwise::backward_weight(&values(&x), &gv, s, &g);
            tensor(dw, &weight.shape(), dtype)
        });
        let dx = need_x.then(|| {
            let dx = depthwise::backward_input(&values(&x), &gv, &values(&weight), s, &g);
            tensor(dx, &[s.n, s.c, s.h, s.w], dtype)
        });
        (dx, dweight)
    }

    fn fused_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        g: Geometry,
        need_x: bool,
        need_weight: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let s = conv_shape(&x, &weight);
        let dtype = x.dtype();
        let gv = values(&grad);
        let dweight = need_weight.then(|| {
            let dw = conv::conv_backward_weight(&values(&x), &gv, s, &g);
            tensor(dw, &weight.shape(), dtype)
        });
        let dx = need_x.then(|| {
            let dx = conv::conv_backward_input(&gv, &values(&weight), s, &g);
            tensor(dx, &[s.n, s.ci, s.h, s.w], dtype)
        });
        (dx, dweight)
    }

    fn fused_max_pool3_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        let [n, c, h, w] = nchw(&x);
        let dx = max_pool::max_pool3_backward(&values(&x), &values(&grad), h, w, stride);
        tensor(dx, &[n, c, h, w], x.dtype())
    }

    fn fused_avg_pool3_backward(
        grad: FloatTensor<Self>,
        hw: [usize; 2],
        stride: usize,
    ) -> FloatTensor<Self> {
        let [n, c, _, _] = nchw(&grad);
        let dx = pool::avg_pool3_backward(&values(&grad), hw[0], hw[1], stride);
        tensor(dx, &[n, c, hw[0], hw[1]], grad.dtype())
    }

    fn fused_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: Option<(FloatTensor<Self>, GammaLayout)>,
        mean: FloatTensor<Self>,
        invstd: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
    ) {
        let [n, c, h, w] = nchw(&x);
        let flat = gamma.as_ref().map(|(g, l)| (values(g).into_owned(), l));
        let per = flat.as_ref().map(|(g, l)| per_channel(g, l, c));
        let (dx, dgamma, dbeta) = norm::batch_norm_backward(
            &values(&x),
            &values(&grad),
            n,
            c,
            h * w,
            &values(&mean),
            &values(&invstd),
            per.as_deref(),
        );
        let dtype = x.dtype();
        let dgamma = flat.map(|(g, layout)| match layout {
            GammaLayout::Blocks(idx) => {
                tensor(fold_blocks(&dgamma, idx, g.len()), &[g.len()], dtype)
            }
            GammaLayout::PerChannel => tensor(dgamma, &[c], dtype),
        });
        (
            tensor(dx, &[n, c, h, w], dtype),
            dgamma,
            tensor(dbeta, &[c], dtype),
        )
    }

    fn fused_mix_backward(
        terms: &[FloatTensor<Self>],
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        spec: &MixSpec,
        needs: &[bool],
        need_weights: bool,
    ) -> (Vec<Option<FloatTensor<Self>>>, Option<FloatTensor<Self>>) {
        let [n, c, h, w] = nchw(&grad);
        let s = h * w;
        let data: Vec<Cow<[f32]>> = terms.iter().map(values).collect();
        let wv = values(&weights);
        let t = mix_terms(terms, &data, &wv, spec);
        let g = values(&grad);
        let dtype = grad.dtype();
        let dterms = t
            .iter()
            .zip(terms)
            .zip(needs)
            .map(|((term, full), &need)| {
                need.then(|| {
                    if term.weight == 1.0 && term.total == c {
                        grad.clone() // the whole tensor, unscaled: its gradient is g itself
                    } else {
                        tensor(mix::term_grad(&g, term, n, c, s), &nchw(full), dtype)
                    }
                })
            })
            .collect();
        let dweights = need_weights.then(|| {
            let mut dw = vec![0.0f32; wv.len()];
            for (term, idx) in t.iter().zip(&spec.weights) {
                if let Some(i) = idx {
                    dw[*i] += mix::weight_grad(&g, term, n, c, s);
                }
            }
            tensor(dw, &[wv.len()], dtype)
        });
        (dterms, dweights)
    }
}
