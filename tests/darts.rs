//! DARTS space through the CLI, the published genotypes in models/, and cell diagrams.

use std::path::Path;

use betadarts_search::darts::Genotype;

use crate::common::{fails, history, ok};

fn models() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

#[test]
fn every_published_genotype_loads_and_validates() {
    let dir = models().join("genotypes");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let g = Genotype::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(g.normal.len(), 8);
        names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "BETA_DARTS_CODE",
            "DARTS_V1",
            "DARTS_V2",
            "DrNAS",
            "PC_DARTS",
            "PDARTS",
            "SDARTS_RS"
        ]
    );
    // Spot checks against the published tuples.
    let v2 = Genotype::load(&dir.join("DARTS_V2.json")).unwrap();
    assert_eq!(v2.normal[7], ("dil_conv_3x3".to_string(), 2));
    assert_eq!(v2.reduce[7], ("max_pool_3x3".to_string(), 1));
    let nb = std::fs::read_to_string(models().join("nb201/BETA_DARTS.txt")).unwrap();
    let arch: betadarts_search::nb201::Arch = nb.trim().parse().unwrap();
    assert_eq!(arch.to_string(), nb.trim());
    let readme = std::fs::read_to_string(models().join("README.md")).unwrap();
    for n in &names {
        assert!(
            readme.contains(&format!("`{n}.json`")),
            "{n} has a README row"
        );
    }
}

#[test]
fn genotype_draw_writes_svg_and_dot_for_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v2");
    let g = models().join("genotypes/DARTS_V2.json");
    ok(&[
        "genotype",
        "draw",
        g.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(out.join("cell.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("normal cell") && svg.contains("reduction cell")
    );
    assert_eq!(svg.matches(">sep_conv_3x3<").count(), 5);
    let dot = std::fs::read_to_string(out.join("cell.dot")).unwrap();
    assert_eq!(dot.matches("->").count(), 2 * (8 + 4));

    // The Python form users copy from papers' repositories is accepted too.
    let py = dir.path().join("pc.py");
    std::fs::write(&py, "PC_DARTS_cifar = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))").unwrap();
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["genotype", "show", py.to_str().unwrap()])).unwrap();
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(models().join("genotypes/PC_DARTS.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(shown, published);

    let nb = dir.path().join("nb");
    ok(&[
        "genotype",
        "draw",
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "-o",
        nb.to_str().unwrap(),
    ]);
    let svg = std::fs::read_to_string(nb.join("cell.svg")).unwrap();
    assert_eq!(
        svg.matches("stroke-dasharray").count(),
        1,
        "the none edge is dashed"
    );
}

#[test]
fn malformed_genotype_file_names_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    let text = std::fs::read_to_string(models().join("genotypes/DARTS_V2.json"))
        .unwrap()
        .replacen("max_pool_3x3", "max_pool_9x9", 1);
    std::fs::write(&p, text).unwrap();
    let e = fails(
        &[
            "genotype",
            "draw",
            p.to_str().unwrap(),
            "-o",
            dir.path().to_str().unwrap(),
        ],
        2,
    );
    assert!(
        e.contains("bad.json") && e.contains("reduce[0]") && e.contains("max_pool_9x9"),
        "{e}"
    );
}

#[test]
fn tiny_darts_search_writes_genotype_diagram_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(&[
        "search",
        "--space",
        "darts",
        "--ops",
        "darts",
        "--channels",
        "4",
        "--cells",
        "5",
        "--image-size",
        "8",
        "--batch-size",
        "8",
        "--steps-per-epoch",
        "2",
        "--epochs",
        "2",
        "--perturb",
        "--out",
        run.to_str().unwrap(),
    ]);
    let g = Genotype::load(&run.join("genotype.json")).unwrap();
    assert!(
        g.normal.iter().chain(&g.reduce).all(|(op, _)| op != "none"),
        "none is never derived"
    );
    let h = history(&run);
    assert_eq!(h.len(), 2);
    assert_eq!(
        h[0]["alpha"].as_array().unwrap().len(),
        2,
        "normal and reduce α"
    );
    assert_eq!(h[0]["alpha"][0].as_array().unwrap().len(), 14);
    assert_eq!(h[0]["alpha"][0][0].as_array().unwrap().len(), 8);
    assert_eq!(
        serde_json::from_value::<Genotype>(h[1]["genotype"].clone()).unwrap(),
        g
    );
    let beta = std::fs::read_to_string(run.join("beta.svg")).unwrap();
    assert_eq!(
        crate::common::series_lines(&beta),
        28 * 8,
        "one line per op in each of 28 panels"
    );
    assert!(
        std::fs::read_to_string(run.join("cell.svg"))
            .unwrap()
            .contains("reduction cell")
    );
    assert!(run.join("cell.dot").exists() && run.join("skip_share.svg").exists());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (
            cfg["space"].as_str(),
            cfg["ops"].as_str(),
            cfg["perturb"].as_bool()
        ),
        (Some("darts"), Some("darts"), Some(true))
    );
}
