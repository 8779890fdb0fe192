//! `betadarts study`: the shipped CPU plan end to end, resuming a half-done grid, the Slurm
//! array job, and reports.

use std::path::Path;
use std::process::Command;

use crate::common::{args, betadarts, fails, nb201_table, ok};

/// Tiny settings for the shipped CPU plan.
const TINY: [&str; 4] = ["--set", "epochs=1", "--set", "steps-per-epoch=1"];

fn study_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("study.json")).unwrap()).unwrap()
}

fn config_names(dir: &Path) -> Vec<String> {
    study_json(dir)["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Rows of the report's Markdown table, as cells (escaped `\|` kept inside a cell).
fn table_rows(md: &str) -> Vec<Vec<String>> {
    md.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| configuration"))
        .map(|l| {
            let l = l.replace("\\|", "\u{1}");
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('\u{1}', "|"))
                .collect()
        })
        .collect()
}

#[test]
fn cpu_plan_runs_end_to_end_and_reports_every_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let o = out.to_str().unwrap();
    let table = nb201_table();
    let mut a = vec!["study", "run", "cpu-mini", "--out", o, "--workers", "2"];
    a.extend(TINY);
    if let Some(t) = &table {
        a.extend(["--table", t.as_str()]);
    }
    ok(&a);
    let names = config_names(&out);
    assert_eq!(
        names.len(),
        15,
        "4 regularizers × 3 λ schedules, DARTS, TD-DARTS, learned"
    );
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    let rows = table_rows(&md);
    assert_eq!(rows.len(), names.len());
    for (row, name) in rows.iter().zip(&names) {
        assert_eq!(&row[0], name);
        assert_eq!(row.len(), 16, "{row:?}");
        assert_eq!(row[4], "2/2", "{name}: both seeds finished");
        assert!(
            row[5].contains("~0|"),
            "{name}: an arch string in {:?}",
            row[5]
        );
        if table.is_some() {
            assert!(
                row[7].contains(" ± "),
                "{name}: CIFAR-10 test mean ± std: {:?}",
                row[7]
            );
        }
    }
    let csv = std::fs::read_to_string(out.join("report/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 30);
    for f in [
        "beta_norm.svg",
        "skip_share.svg",
        "accuracy_by_lambda.svg",
        "beta/td-darts.svg",
    ] {
        assert!(out.join("report").join(f).exists(), "{f}");
    }
    // Every run is a plain search run directory.
    let run = out.join("runs/td-darts/seed-2");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (cfg["seed"].as_u64(), cfg["epochs"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(cfg["temperature"]["kind"], "exponential");
    // A different grid cannot be mixed into this folder.
    let e = fails(&["study", "run", "cpu-mini", "--out", o], 2);
    assert!(e.contains("another study"), "{e}");
}

#[test]
fn a_half_done_grid_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "name = \"resume\"\nseeds = [1, 2]\n[search]\nchannels = 4\ncells = 1\nimage-size = 8\n\
         batch-size = 16\nsteps-per-epoch = 2\nepochs = 2\n[[grid]]\nregularizer = [\"beta\", \"l2\"]\n\
         lambda-schedule = [\"constant:5\"]\n",
    )
    .unwrap();
    let out = dir.path().join("study");
    let (p, o) = (plan.to_str().unwrap(), out.to_str().unwrap());
    ok(&["study", "run", p, "--out", o, "--no-report"]);
    let runs: Vec<serde_json::Value> = study_json(&out)["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 4);
    let dir_of = |i: usize| out.join(runs[i]["dir"].as_str().unwrap());
    // Run 0: never started. Run 1: cut off after one epoch (as a killed job leaves it).
    // Runs 2, 3: finished, and must be kept as they are.
    std::fs::remove_dir_all(dir_of(0)).unwrap();
    std::fs::remove_dir_all(dir_of(1)).unwrap();
    let mut cut: Vec<String> = runs[1]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let i = cut.iter().position(|x| x == "--out").unwrap();
    cut[i + 1] = dir_of(1).to_string_lossy().into_owned();
    cut.extend(["--stop-after".into(), "1".into()]);
    ok(&args(&cut));
    assert!(!dir_of(1).join("summary.json").exists());
    let kept = std::fs::read(dir_of(2).join("history.jsonl")).unwrap();
    let kept_time = std::fs::metadata(dir_of(2).join("summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    ok(&["study", "run", p, "--out", o]);
    for i in 0..4 {
        assert!(dir_of(i).join("summary.json").exists(), "run {i} finished");
        assert_eq!(crate::common::history(&dir_of(i)).len(), 2);
    }
    assert_eq!(
        std::fs::read(dir_of(2).join("history.jsonl")).unwrap(),
        kept
    );
    assert_eq!(
        std::fs::metadata(dir_of(2).join("summary.json"))
            .unwrap()
            .modified()
            .unwrap(),
        kept_time
    );
    let log = std::fs::read_to_string(out.join(format!(
        "logs/{}-seed-{}.log",
        runs[1]["config"].as_str().unwrap(),
        runs[1]["seed"]
    )))
    .unwrap();
    assert!(log.contains("resuming"), "{log}");
}

#[test]
fn slurm_array_has_one_plain_search_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let o = out.to_str().unwrap();
    let mut a = vec![
        "study",
        "slurm",
        "cpu-mini",
        "--out",
        o,
        "--task-device",
        "cpu",
        "--gpus",
        "0",
        "--partition",
        "gpu",
        "--max-parallel",
        "8",
    ];
    a.extend(TINY);
    let printed = ok(&a);
    let script = Path::new(printed.trim()).to_path_buf();
    assert_eq!(
        script,
        std::fs::canonicalize(&out)
            .unwrap()
            .join("slurm/study.sbatch")
    );
    let text = std::fs::read_to_string(&script).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(syntax.success(), "bash -n {}", script.display());
    let n = config_names(&out).len() * 2;
    assert!(
        text.contains(&format!("#SBATCH --array=0-{}%8\n", n - 1)),
        "{text}"
    );
    assert!(text.contains("#SBATCH --partition=gpu\n"));
    let tasks = text
        .lines()
        .filter(|l| l.trim_start().contains(") RUN="))
        .count();
    assert_eq!(tasks, n, "one array task per configuration × seed");
    let list = std::fs::read_to_string(out.join("slurm/tasks.txt")).unwrap();
    assert_eq!(list.lines().count(), n);

    let bin = env!("CARGO_BIN_EXE_betadarts");
    let task = |id: &str| {
        Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", id)
            .env("BETADARTS", bin)
            .env("BETADARTS_LOG", "warn")
            .env_remove("BETADARTS_NB201_TABLE")
            .output()
            .unwrap()
    };
    // Task 3 through the script, as Slurm would run it.
    let r = task("3");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let runs = study_json(&out)["runs"].as_array().unwrap().clone();
    let run3 = out.join(runs[3]["dir"].as_str().unwrap());
    assert!(run3.join("summary.json").exists());
    let again = task("3");
    assert!(String::from_utf8_lossy(&again.stdout).contains("finished already"));
    assert!(
        !task(&n.to_string()).status.success(),
        "out-of-range task id"
    );
    // Task 4's command line from tasks.txt, executed by hand: a plain search.
    let line = list.lines().nth(4).unwrap();
    let (id, cmd) = line.split_once('\t').unwrap();
    assert_eq!(id, "4");
    assert!(cmd.starts_with("betadarts search --out "), "{cmd}");
    let by_hand = Command::new("bash")
        .arg("-c")
        .arg(format!("{} {}", bin, cmd.trim_start_matches("betadarts ")))
        .env("BETADARTS_LOG", "warn")
        .env_remove("BETADARTS_NB201_TABLE")
        .output()
        .unwrap();
    assert!(
        by_hand.status.success(),
        "{}",
        String::from_utf8_lossy(&by_hand.stderr)
    );
    assert!(
        out.join(runs[4]["dir"].as_str().unwrap())
            .join("summary.json")
            .exists()
    );
    // The report sees the two finished runs and lists every configuration.
    let md = ok(&["study", "report", o]);
    let rows = table_rows(&md);
    assert_eq!(rows.len(), n / 2);
    let done: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(
        done.iter().filter(|d| d.starts_with("1/2")).count(),
        2,
        "{done:?}"
    );
}

#[test]
fn bad_plans_and_folders_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("bad.toml");
    std::fs::write(
        &plan,
        "[[grid]]\nregularizer = [\"beta\"]\nlambda-schedule = [\"ramp:3\"]\n",
    )
    .unwrap();
    let out = dir.path().join("s");
    let e = fails(
        &[
            "study",
            "run",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("bad.toml") && e.contains("ramp:3"), "{e}");
    let e = fails(
        &[
            "study",
            "run",
            "no-such-plan",
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("cpu-mini"), "{e}");
    let e = fails(&["study", "report", dir.path().to_str().unwrap()], 1);
    assert!(e.contains("study.json"), "{e}");
    let shown = betadarts(&["study", "show", "paper-ablation"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("50 configurations × 3 seeds = 150 runs")
    );
}
