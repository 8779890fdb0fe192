//! Mutation fuzzing on stable Rust: for each reader of outside data, a valid seed input is
//! mutated at random (bytes overwritten, cut, duplicated, inserted) and read back; every result
//! must be Ok or an error, never a panic. Seeded, so a failure reproduces; the failing input is
//! written to `$CARGO_TARGET_TMPDIR/fuzz-<reader>-<case>` for the report.

use std::path::Path;

use betadarts_deploy::ModelMeta;
use betadarts_search::darts::Genotype;
use betadarts_search::nb201::Arch;
use betadarts_search::rng::Rng;

use crate::common::{ok, v2};

/// One to four random edits of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = rng.next_u64() as u8;
            }
            1 => v.truncate(at),
            2 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                v.splice(at..at, piece);
            }
            3 => v.insert(at, [0u8, 0xff, b'9', b'(', b'|', b','][rng.below(6)]),
            _ if !v.is_empty() => {
                // A length-like field set huge: the classic allocation bomb.
                let i = at.min(v.len() - 1);
                let end = (i + 8).min(v.len());
                v[i..end].iter_mut().for_each(|b| *b = 0xff);
            }
            _ => {}
        }
    }
    v
}

/// `cases` mutations of `seed`, each given to `read`; a panic fails the test with the input kept.
fn fuzz(name: &str, seed: &[u8], cases: usize, read: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let mut rng = Rng::new(0x5eed ^ name.len() as u64);
    for case in 0..cases {
        let input = mutate(seed, &mut rng);
        if std::panic::catch_unwind(|| read(&input)).is_err() {
            let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{name}-{case}"));
            let _ = std::fs::write(&keep, &input);
            panic!(
                "{name}: case {case} panicked; input kept in {}",
                keep.display()
            );
        }
    }
}

/// Readers that take a path: the input is written to a file first.
fn via_file(dir: &Path, name: &str, read: impl Fn(&Path)) -> impl Fn(&[u8]) {
    let path = dir.join(name);
    move |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        read(&path);
    }
}

#[test]
fn readers_of_outside_data_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let genotype = std::fs::read(v2()).unwrap();
    fuzz("genotype-json", &genotype, 400, |b| {
        let _ = Genotype::parse(&String::from_utf8_lossy(b));
    });
    let python = b"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
    fuzz("genotype-python", python, 400, |b| {
        let _ = Genotype::parse(&String::from_utf8_lossy(b));
    });
    let arch = b"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    fuzz("nb201-arch", arch, 400, |b| {
        let _ = String::from_utf8_lossy(b).parse::<Arch>();
    });

    let table = format!(
        "index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test\n0,\"{}\",1,2,3,4,5,6\n",
        String::from_utf8_lossy(arch)
    );
    let read_table = via_file(d, "table.csv", |p| {
        let _ = betadarts_search::nb201::table::Table::load(p);
    });
    fuzz("nb201-table", table.as_bytes(), 300, read_table);

    let ckpt = d.join("seed.ckpt");
    betadarts_search::run_dir::write_checkpoint(
        &ckpt,
        &betadarts_search::run_dir::Checkpoint {
            header: serde_json::json!({"format": 2, "epochs_done": 1}),
            blobs: vec![("net".into(), vec![1; 64]), ("optim".into(), vec![2; 32])],
        },
    )
    .unwrap();
    let read_ckpt = via_file(d, "c.ckpt", |p| {
        let _ = betadarts_search::run_dir::read_checkpoint(p);
    });
    fuzz("checkpoint", &std::fs::read(&ckpt).unwrap(), 400, read_ckpt);

    let mut images = vec![0, 0, 8, 3];
    [3u32, 4, 4]
        .iter()
        .for_each(|x| images.extend_from_slice(&x.to_be_bytes()));
    images.extend(0..48u8);
    let read_idx = via_file(d, "images-idx3", |p| {
        let _ = betadarts_data::read_idx_images(p);
    });
    fuzz("idx-images", &images, 400, read_idx);
    let cifar: Vec<u8> = (0..2 * 3073).map(|i| (i % 251) as u8).collect();
    let read_cifar = via_file(d, "batch.bin", |p| {
        let _ = betadarts_data::read_cifar_file(p, betadarts_data::CIFAR10_RECORD, 10);
    });
    fuzz("cifar", &cifar, 200, read_cifar);

    let model = d.join("m.onnx");
    let m = model.to_str().unwrap();
    ok(&[
        "export",
        "--random-init",
        "--arch",
        std::str::from_utf8(arch).unwrap(),
        "--channels",
        "4",
        "-o",
        m,
    ]);
    let onnx = std::fs::read(&model).unwrap();
    fuzz("onnx-metadata", &onnx, 200, |b| {
        let _ = ModelMeta::from_onnx(b);
    });
}
