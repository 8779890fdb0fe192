//! Plans expanded, and bad plans refused with the entry named.

use super::*;

const PLAN: &str = r#"
name = "t"
seeds = [1, 2]
[search]
epochs = 2
no-augment = true
[[grid]]
regularizer = ["none", "beta", "l2"]
lambda-schedule = ["linear:0:50", "constant:10"]
temperature = ["none", "exponential:1:0.1"]
[[config]]
name = "td"
regularizer = "none"
temperature = "linear:1:0.5"
epochs = 3
"#;

#[test]
fn grid_expansion() {
    let s = expand("t.toml", PLAN, &[], None).unwrap();
    // none: 1 λ × 2 T; beta, l2: 2 λ × 2 T each; plus td.
    assert_eq!(s.configs.len(), 2 + 4 + 4 + 1);
    assert_eq!(s.runs.len(), 11 * 2);
    let td = s.configs.iter().find(|c| c.name == "td").unwrap();
    assert_eq!(td.flags["epochs"], "3", "a config's own flags win");
    let beta = s
        .configs
        .iter()
        .find(|c| c.name == "beta_constant-10_T-exponential-1-0.1")
        .unwrap();
    let args = search_args(beta, 1, Path::new("d"));
    assert!(
        args.windows(2)
            .any(|w| w == ["--lambda-schedule", "constant:10"])
    );
    assert!(args.contains(&"--no-augment".to_string()));
    assert!(
        !s.configs
            .iter()
            .any(|c| c.regularizer == "none" && c.lambda.is_some())
    );
}

#[test]
fn bad_plans_are_named() {
    let e = |p: &str| expand("p.toml", p, &[], None).unwrap_err().to_string();
    assert!(e("[[grid]]\nregularizer = [\"beta\"]\n[search]\nseed = 3").contains("seed"));
    assert!(e("[[grid]]\nregularizer = [\"bta\"]").contains("bta"));
    assert!(e("[[grid]]\nregularizer = [\"beta\"]\nlambda-schedule = [\"ramp\"]").contains("ramp"));
    assert!(e("[[grid]]\nregularizer = [\"beta\"]\n[search]\nepoch = 3").contains("epoch"));
    assert!(e("name = 3").contains("p.toml"));
    assert!(e("[[grid]]\nregularizer = [\"beta\"").contains("not a valid TOML"));
    assert!(expand("p", PLAN, &["epochs".into()], None).is_err());
}

#[test]
fn builtin_plans_expand() {
    for (name, text) in BUILTIN {
        let s = expand(name, text, &[], None).unwrap();
        assert!(s.runs.len() >= s.configs.len());
    }
    let paper = expand("p", BUILTIN[1].1, &[], None).unwrap();
    // 4 regularizers × 12 λ schedules, DARTS and TD-DARTS.
    assert_eq!(paper.configs.len(), 4 * 12 + 2);
}
