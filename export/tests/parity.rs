//! Exported models against burn: every op alone (stride 1 and 2) in tract, and whole networks
//! (DARTS V2 CIFAR, NB201, a small ImageNet network) folded and unfolded, in tract and — where
//! its library is installed — ONNX Runtime.

use betadarts_deploy::{EngineKind, ModelMeta, load_engine};
use betadarts_export::emit::Emitter;
use betadarts_export::{ExportOptions, check_parity, export_network};
use betadarts_search::darts::{DartsOp, Genotype, Op};
use betadarts_search::retrain::{TrainConfig, TrainNet, TrainNetwork};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use prost::Message;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::type_proto::{Tensor as TT, Value};
use tract_onnx::pb::{
    GraphProto, ModelProto, OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// Gives every BN random statistics and affine parameters, so that eval mode and folding are
/// exercised for real (fresh BNs are the identity).
struct RandomBn {
    path: Vec<String>,
    seed: u64,
}

impl ModuleMapper for RandomBn {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let last = self.path.last().cloned().unwrap_or_default();
        let device = p.val().device();
        let shape = p.val().shape();
        self.seed += 1;
        device.seed(self.seed);
        let dist = match last.as_str() {
            "running_var" | "gamma" => Distribution::Uniform(0.5, 1.5),
            "running_mean" | "beta" => Distribution::Normal(0.0, 0.2),
            _ => return p,
        };
        let (id, _, _) = p.consume();
        Param::initialized(id, Tensor::random(shape, dist, &device))
    }
}

fn randomized(net: TrainNet) -> TrainNet {
    net.map(&mut RandomBn {
        path: Vec::new(),
        seed: 100,
    })
}

fn v2() -> Genotype {
    Genotype::parse(include_str!("../../models/genotypes/DARTS_V2.json")).unwrap()
}

fn meta(network: &str, channels: usize, size: usize, classes: usize) -> ModelMeta {
    ModelMeta {
        network: network.into(),
        dataset: "test".into(),
        class_names: (0..classes).map(|i| format!("c{i}")).collect(),
        input_size: size,
        input_channels: channels,
        mean: vec![0.5; channels],
        std: vec![0.25; channels],
        genotype: None,
        arch: None,
        accuracy: None,
        tool_version: "test".into(),
        madds: None,
        preprocess: "resize".into(),
    }
}

fn random_input(shape: [usize; 4], seed: u64) -> Vec<f32> {
    let d = Device::flex();
    d.seed(seed);
    Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn network(cfg: &TrainConfig, in_c: usize, classes: usize) -> TrainNet {
    let d = Device::flex();
    d.seed(7);
    randomized(TrainNet::new(cfg, in_c, classes, &d).unwrap().without_aux())
}

fn assert_parity(net: &TrainNet, m: &ModelMeta, batch: usize) {
    for fold in [false, true] {
        let model = export_network(net, m, ExportOptions { fold });
        let bytes = model.encode_to_vec();
        let shape = [batch, m.input_channels, m.input_size, m.input_size];
        let r = check_parity(net, &bytes, &random_input(shape, 3), shape, fold).unwrap();
        assert!(r.ok(), "fold={fold}: {r:?}");
        assert!(r.engines.iter().all(|e| e.top1_agreement == 1.0), "{r:?}");
        assert!(r.engines.iter().any(|e| e.engine == "tract"));
        if std::env::var("ORT_DYLIB_PATH").is_ok() {
            assert!(
                r.engines.iter().any(|e| e.engine == "ort"),
                "ORT_DYLIB_PATH is set but ort did not run: {r:?}"
            );
        }
        // The metadata round-trips.
        assert_eq!(&ModelMeta::from_onnx(&bytes).unwrap(), m);
    }
}

#[test]
fn darts_v2_cifar_network_matches_burn() {
    let mut cfg = TrainConfig::recipe(TrainNetwork::Cifar);
    cfg.genotype = Some(v2());
    assert_parity(&network(&cfg, 3, 10), &meta("cifar", 3, 32, 10), 2);
}

#[test]
fn nb201_network_matches_burn() {
    let mut cfg = TrainConfig::recipe(TrainNetwork::Nb201);
    // Every NB201 op, `none` included.
    cfg.arch = Some(
        "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
            .into(),
    );
    cfg.channels = 8;
    cfg.layers = 2;
    assert_parity(&network(&cfg, 3, 10), &meta("nb201", 3, 16, 10), 2);
}

#[test]
fn small_imagenet_network_matches_burn() {
    let mut cfg = TrainConfig::recipe(TrainNetwork::Imagenet);
    cfg.genotype =
        Some(Genotype::parse(include_str!("../../models/genotypes/PDARTS.json")).unwrap());
    cfg.channels = 8;
    cfg.layers = 5;
    cfg.auxiliary = false;
    assert_parity(&network(&cfg, 3, 20), &meta("imagenet", 3, 64, 20), 1);
}

#[test]
fn batch_sizes_one_and_seven_give_the_same_per_image_outputs() {
    let mut cfg = TrainConfig::recipe(TrainNetwork::Cifar);
    cfg.genotype = Some(v2());
    cfg.channels = 8;
    cfg.layers = 5;
    let net = network(&cfg, 3, 10);
    let m = meta("cifar", 3, 16, 10);
    let bytes = export_network(&net, &m, ExportOptions { fold: true }).encode_to_vec();
    let x7 = random_input([7, 3, 16, 16], 9);
    // tract runs a batch image by image: in turn on one thread, in parallel on several.
    let (engines, _) = EngineKind::usable();
    for kind in engines {
        for threads in [Some(1), Some(3)] {
            let mut engine = load_engine(kind, &bytes, threads).unwrap();
            let (all, k) = engine.run(&x7, [7, 3, 16, 16]).unwrap();
            for i in 0..7 {
                let one = &x7[i * 768..(i + 1) * 768];
                let (y, _) = engine.run(one, [1, 3, 16, 16]).unwrap();
                let diff = y
                    .iter()
                    .zip(&all[i * k..(i + 1) * k])
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(diff < 1e-4, "{kind} {threads:?} threads, image {i}: {diff}");
            }
        }
    }
}

/// A one-op model: input `x` `[2, C, H, W]`, the op's output.
fn single_op_model(op: &DartsOp, c: usize, size: usize, fold: bool) -> Vec<u8> {
    // The side known: FactorizedReduce's strided-slice form at 8 px, slice + pad at 7.
    let mut e = Emitter::new(fold).with_side(size);
    let out = e.darts_op("x", op).unwrap();
    let out = if out == "x" {
        e.g.node("Identity", vec!["x".into()], vec![])
    } else {
        out
    };
    model_of(e, &out, [2, c, size, size])
}

#[test]
fn every_op_alone_matches_burn_at_both_strides() {
    let device = Device::flex();
    let c = 4;
    for size in [8usize, 7] {
        for stride in [1usize, 2] {
            for op in Op::ALL.into_iter().filter(|&o| o != Op::None) {
                for fold in [false, true] {
                    device.seed(11);
                    // Eval-mode op (affine BN, no BN after pools), with random BN statistics.
                    let m = DartsOp::new(op, c, stride, true, false, &device);
                    let m = m
                        .map(&mut RandomBn {
                            path: Vec::new(),
                            seed: 5,
                        })
                        .valid();
                    let x = random_input([2, c, size, size], 1);
                    let want = m
                        .forward(Tensor::from_data(
                            TensorData::new(x.clone(), [2, c, size, size]),
                            &device,
                        ))
                        .unwrap()
                        .into_data()
                        .try_to_vec::<f32>()
                        .unwrap();
                    let bytes = single_op_model(&m, c, size, fold);
                    let mut tract = betadarts_deploy::TractEngine::new(&bytes, None).unwrap();
                    let (got, _) =
                        betadarts_deploy::Engine::run(&mut tract, &x, [2, c, size, size]).unwrap();
                    assert_eq!(got.len(), want.len(), "{} s{stride} {size}px", op.name());
                    let diff = got
                        .iter()
                        .zip(&want)
                        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                    assert!(
                        diff < 1e-4,
                        "{} stride {stride} {size}px fold={fold}: max diff {diff}",
                        op.name()
                    );
                }
            }
        }
    }
}

#[test]
fn every_nb201_op_alone_matches_burn() {
    use betadarts_search::nb201::{Nb201Op, Op as NbOp};
    let device = Device::flex();
    let c = 4;
    for op in NbOp::ALL.into_iter().filter(|&o| o != NbOp::None) {
        for fold in [false, true] {
            device.seed(3);
            let m = Nb201Op::new(op, c, true, &device)
                .map(&mut RandomBn {
                    path: Vec::new(),
                    seed: 9,
                })
                .valid();
            let x = random_input([2, c, 7, 7], 2);
            let want = m
                .forward(Tensor::from_data(
                    TensorData::new(x.clone(), [2, c, 7, 7]),
                    &device,
                ))
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let mut e = Emitter::new(fold);
            let out = e.nb201_op("x", &m).unwrap();
            let out = if out == "x" {
                e.g.node("Identity", vec!["x".into()], vec![])
            } else {
                out
            };
            let bytes = model_of(e, &out, [2, c, 7, 7]);
            let mut tract = betadarts_deploy::TractEngine::new(&bytes, None).unwrap();
            let (got, _) = betadarts_deploy::Engine::run(&mut tract, &x, [2, c, 7, 7]).unwrap();
            let diff = got
                .iter()
                .zip(&want)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-4, "{} fold={fold}: {diff}", op.name());
        }
    }
}

fn model_of(e: Emitter, out: &str, shape: [usize; 4]) -> Vec<u8> {
    let vi = |name: &str, dims: Vec<i64>| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TT {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .into_iter()
                        .map(|d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    ModelProto {
        ir_version: betadarts_export::IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: betadarts_export::OPSET,
        }],
        graph: Some(GraphProto {
            node: e.g.nodes,
            initializer: e.g.initializers,
            input: vec![vi("x", shape.iter().map(|&d| d as i64).collect())],
            output: vec![vi(out, vec![])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}
