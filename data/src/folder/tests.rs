//! Folder scanning, transforms and batches against hand-made image folders.

use image::RgbImage;

use super::transform::rotate_hue;
use super::*;

fn write_folder(root: &Path) {
    for (c, colour) in [("cat", [200u8, 30, 30]), ("dog", [30, 30, 200])] {
        let d = root.join(c);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..3 {
            let img = RgbImage::from_pixel(40 + i * 7, 30 + i * 5, image::Rgb(colour));
            img.save(d.join(format!("{i}.png"))).unwrap();
        }
    }
}

#[test]
fn scans_classes_and_loads_batches_identically_with_any_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    let split = FolderSplit::scan(dir.path(), None).unwrap();
    assert_eq!(split.classes, vec!["cat", "dog"]);
    assert_eq!(split.samples.len(), 6);
    let idx = [0, 3, 5, 1];
    let t = Transform::Train {
        size: 16,
        jitter: Some(Jitter::default()),
    };
    let a = load_batch(&split, &idx, t, 7, 1).unwrap();
    let b = load_batch(&split, &idx, t, 7, 3).unwrap();
    assert_eq!(a.data.len(), 4 * 3 * 16 * 16);
    assert_eq!(a.labels, vec![0, 1, 1, 0]);
    assert_eq!(a.data, b.data, "worker count does not change results");
    // Eval: a uniform red image stays uniform red after resize + crop.
    let e = load_batch(
        &split,
        &[0],
        Transform::Eval {
            resize: 18,
            size: 16,
        },
        0,
        1,
    )
    .unwrap();
    let r = (200.0 / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
    assert!(e.data[..256].iter().all(|v| (v - r).abs() < 1e-5));
    let batches: Vec<_> = Prefetcher::start(split, vec![vec![0, 1], vec![2]], t, 1, 2).collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].as_ref().unwrap().labels, vec![0]);
}

#[test]
fn corrupt_image_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    std::fs::write(
        dir.path().join("dog/bad.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    let split = FolderSplit::scan(dir.path(), None).unwrap();
    let bad = split
        .samples
        .iter()
        .position(|(p, _)| p.ends_with("bad.png"))
        .unwrap();
    let e = load_batch(
        &split,
        &[bad],
        Transform::Eval {
            resize: 18,
            size: 16,
        },
        0,
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bad.png") && e.contains("cannot decode"), "{e}");
}

#[test]
fn hue_rotation_by_a_third_turns_red_into_green() {
    let v = rotate_hue([255.0, 0.0, 0.0], 1.0 / 3.0);
    assert!(
        (v[0] - 0.0).abs() < 1e-3 && (v[1] - 255.0).abs() < 1e-3 && v[2].abs() < 1e-3,
        "{v:?}"
    );
}
