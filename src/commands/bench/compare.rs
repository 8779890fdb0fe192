//! `betadarts bench compare`: our step benches and the PyTorch reference scripts on the same
//! workloads, alternated round by round in one session (these machines are noisy), each run a
//! fresh process so that its peak memory is its own. Reports the median over all timed steps.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::args::CompareBench;
use super::reference::{Scripts, python, torch_version};

/// One workload: our subcommand's arguments and the reference script's.
struct Workload {
    name: String,
    what: String,
    ours: Vec<String>,
    script: &'static str,
    theirs: Vec<String>,
    threads: usize,
    /// Whether the PyTorch script has a `--lean` variant (search steps).
    has_lean: bool,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn workload(name: &str, batch: Option<usize>, threads: usize) -> Result<Workload> {
    let both = |v: &[&str]| strings(v);
    Ok(match name {
        "nb201" | "nb201-tiny" => {
            let tiny = name == "nb201-tiny";
            let (c, b, s) = if tiny { (4, 2, 8) } else { (16, 64, 32) };
            let b = batch.unwrap_or(b).to_string();
            let (c, s) = (c.to_string(), s.to_string());
            let shape = both(&[
                "--channels",
                &c,
                "--cells",
                "5",
                "--batch-size",
                &b,
                "--image-size",
                &s,
            ]);
            Workload {
                name: name.into(),
                what: format!("NB201 search step C={c} N=5 b{b} {s}²"),
                ours: [
                    strings(&["bench", "search-step", "--space", "nb201"]),
                    shape.clone(),
                ]
                .concat(),
                script: "nb201_search.py",
                theirs: shape,
                threads: if tiny { 1 } else { threads },
                has_lean: true,
            }
        }
        "darts" => {
            let b = batch.unwrap_or(64).to_string();
            let shape = both(&[
                "--ops",
                "darts",
                "--channels",
                "16",
                "--cells",
                "8",
                "--batch-size",
                &b,
            ]);
            Workload {
                name: name.into(),
                what: format!("DARTS search step C=16 8 cells 8 ops b{b} 32²"),
                ours: [
                    strings(&["bench", "search-step", "--space", "darts"]),
                    shape.clone(),
                ]
                .concat(),
                script: "darts_search.py",
                theirs: shape,
                threads,
                has_lean: true,
            }
        }
        "darts-train" => {
            let b = batch.unwrap_or(96).to_string();
            Workload {
                name: name.into(),
                what: format!("DARTS_V2 train step C=36 20 cells aux b{b} 32²"),
                ours: strings(&[
                    "bench",
                    "train-step",
                    "--channels",
                    "36",
                    "--layers",
                    "20",
                    "--batch-size",
                    &b,
                ]),
                script: "darts_train.py",
                theirs: strings(&["--channels", "36", "--cells", "20", "--batch-size", &b]),
                threads,
                has_lean: false,
            }
        }
        other => bail!("--workload {other:?}: choose nb201, nb201-tiny, darts, darts-train or all"),
    })
}

/// Runs one benchmark process and returns its JSON line.
fn run(program: &Path, args: &[String], threads: usize) -> Result<Value> {
    let t = threads.to_string();
    let out = Command::new(program)
        .args(args)
        .env("RAYON_NUM_THREADS", &t)
        .env("OMP_NUM_THREADS", &t)
        .env("MKL_NUM_THREADS", &t)
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    match (out.status.success(), line) {
        (true, Some(l)) => serde_json::from_str(l)
            .with_context(|| format!("{} printed no JSON: {l}", program.display())),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(8).collect();
            bail!(
                "{} {} failed ({}):\n{}",
                program.display(),
                args.join(" "),
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        }
    }
}

/// Median, min, max and peak memory over all rounds of one side.
fn summarise(runs: &[Value]) -> Value {
    let mut times: Vec<f64> = runs
        .iter()
        .flat_map(|r| {
            r["times_s"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let peak = runs
        .iter()
        .filter_map(|r| r["peak_rss_bytes"].as_u64())
        .max();
    let gpu = runs
        .iter()
        .filter_map(|r| r["peak_gpu_bytes"].as_u64())
        .max();
    json!({
        "median_s": times.get(times.len() / 2),
        "min_s": times.first(), "max_s": times.last(), "steps": times.len(),
        "peak_rss_bytes": peak, "peak_gpu_bytes": gpu,
        "round_medians_s": runs.iter().map(|r| r["median_s"].clone()).collect::<Vec<_>>(),
    })
}

pub fn compare(b: CompareBench) -> Result<()> {
    let py = python(b.python.as_deref());
    let torch = torch_version(&py, &[])?;
    let scripts = Scripts::write()?;
    let exe: PathBuf = std::env::current_exe().context("locating the betadarts binary")?;
    let threads = b
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let names: Vec<String> = if b.workload.iter().any(|w| w == "all") {
        strings(&["nb201", "nb201-tiny", "darts", "darts-train"])
    } else {
        b.workload.clone()
    };
    let batches: Vec<Option<usize>> = if b.batch_size.is_empty() {
        vec![None]
    } else {
        b.batch_size.iter().copied().map(Some).collect()
    };
    let mut loads = Vec::new();
    for n in &names {
        for &bs in &batches {
            loads.push(workload(n, bs, threads)?);
        }
    }
    let variants: Vec<&str> = match b.pytorch.as_str() {
        "both" => vec!["reference", "lean"],
        v => vec![v],
    };
    let per_round = |w: &Workload| 1 + if w.has_lean { variants.len() } else { 1 };
    let total: usize = loads.iter().map(|w| b.rounds * per_round(w)).sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("bench compare");
    let (repeats, warmup) = (b.repeats.to_string(), b.warmup.to_string());
    let common = |_: &Workload| {
        strings(&[
            "--device",
            &b.device,
            "--repeats",
            &repeats,
            "--warmup",
            &warmup,
            "--json",
        ])
    };
    let mut rows = Vec::new();
    for w in &loads {
        let mut ours = Vec::new();
        let mut theirs: Vec<Vec<Value>> = vec![Vec::new(); variants.len()];
        for _ in 0..b.rounds {
            bar.set_message(format!("{}: betadarts", w.name));
            ours.push(run(&exe, &[w.ours.clone(), common(w)].concat(), w.threads)?);
            bar.inc(1);
            for (i, v) in variants.iter().enumerate() {
                if *v == "lean" && !w.has_lean {
                    continue;
                }
                bar.set_message(format!("{}: PyTorch {v}", w.name));
                let mut args = vec![scripts.path(w.script).display().to_string()];
                args.extend(w.theirs.clone());
                args.extend(common(w));
                args.extend(strings(&["--threads", &w.threads.to_string()]));
                if *v == "lean" {
                    args.push("--lean".into());
                }
                if b.cudnn_benchmark {
                    args.push("--cudnn-benchmark".into());
                }
                theirs[i].push(run(&py, &args, w.threads)?);
                bar.inc(1);
            }
        }
        let o = summarise(&ours);
        let mut row = json!({
            "workload": w.name, "what": w.what, "threads": w.threads, "device": b.device,
            "betadarts": o, "pytorch": {},
        });
        for (v, runs) in variants.iter().zip(&theirs) {
            if runs.is_empty() {
                continue;
            }
            let t = summarise(runs);
            let ratio = match (o["median_s"].as_f64(), t["median_s"].as_f64()) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            row["pytorch"][*v] = t;
            row["ratio"][*v] = json!(ratio);
        }
        rows.push(row);
    }
    bar.finish_and_clear();
    let result = json!({
        "torch": torch, "device": b.device, "rounds": b.rounds, "repeats": b.repeats,
        "warmup": b.warmup, "results": rows,
    });
    if b.json {
        println!("{result}");
    } else {
        print_table(&result, &variants);
    }
    Ok(())
}

fn print_table(result: &Value, variants: &[&str]) {
    let mib = |v: &Value| {
        v.as_u64()
            .map_or("-".into(), |b| format!("{:.0}", b as f64 / 1048576.0))
    };
    let s = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.4}"));
    println!(
        "betadarts vs PyTorch {} on {}: {} rounds × {} timed steps per side, alternated",
        result["torch"].as_str().unwrap_or("?"),
        result["device"].as_str().unwrap_or("?"),
        result["rounds"],
        result["repeats"]
    );
    for r in result["results"].as_array().into_iter().flatten() {
        println!(
            "\n{} ({} threads)",
            r["what"].as_str().unwrap_or(""),
            r["threads"]
        );
        let o = &r["betadarts"];
        println!(
            "  betadarts          median {} s  (min {}, max {})  peak RSS {} MiB",
            s(&o["median_s"]),
            s(&o["min_s"]),
            s(&o["max_s"]),
            mib(&o["peak_rss_bytes"])
        );
        for v in variants {
            let t = &r["pytorch"][*v];
            if t.is_null() {
                continue;
            }
            let gpu = if t["peak_gpu_bytes"].is_null() {
                String::new()
            } else {
                format!(", GPU {} MiB", mib(&t["peak_gpu_bytes"]))
            };
            println!(
                "  PyTorch {v:<10} median {} s  (min {}, max {})  peak RSS {} MiB{gpu}   ratio {}",
                s(&t["median_s"]),
                s(&t["min_s"]),
                s(&t["max_s"]),
                mib(&t["peak_rss_bytes"]),
                r["ratio"][*v]
                    .as_f64()
                    .map_or("-".into(), |x| format!("{x:.2}"))
            );
        }
    }
}
