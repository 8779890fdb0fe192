//! `betadarts nb201 lookup|best|rank`: the NAS-Bench-201 table, read from the user's file.

use anyhow::{Context, Result, anyhow};
use betadarts_search::nb201::table::{Column, Row, Table};

use crate::cli::{Nb201Args, Nb201What};

fn print_row(r: &Row) {
    println!("index {}  {}", r.index, r.arch);
    for (c, v) in r.acc.iter() {
        println!("  {:<17} {v:6.2}", c.name());
    }
}

pub fn nb201(a: Nb201Args) -> Result<()> {
    let path = a.table.ok_or_else(|| anyhow!("no table: pass --table FILE or set BETADARTS_NB201_TABLE (the CSV of NAS-Bench-201 accuracies)"))?;
    let t = Table::load(&path).with_context(|| "reading the NB201 table".to_string())?;
    let find = |k: &str| {
        t.lookup(k).ok_or_else(|| {
            anyhow!(
                "{k:?} is not in {} (an arch string or an index 0..{})",
                path.display(),
                t.rows.len()
            )
        })
    };
    match a.what {
        Nb201What::Lookup { arch } => {
            let r = find(&arch)?;
            if a.json {
                println!("{}", serde_json::to_string(r)?)
            } else {
                print_row(r)
            }
        }
        Nb201What::Best => {
            let best = t.best();
            if a.json {
                let m: serde_json::Map<String, serde_json::Value> = Column::ALL
                    .iter()
                    .zip(&best)
                    .map(|(c, r)| {
                        (
                            c.name().to_string(),
                            serde_json::to_value(r).unwrap_or_default(),
                        )
                    })
                    .collect();
                println!("{}", serde_json::Value::Object(m));
            } else {
                for (&c, r) in Column::ALL.iter().zip(&best) {
                    let name = c.name();
                    println!(
                        "{name:<17} {:6.2}  index {:>5}  {}",
                        r.acc[c], r.index, r.arch
                    );
                }
            }
        }
        Nb201What::Rank { arch } => {
            let r = find(&arch)?;
            let p = t.rank(r);
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"index": r.index, "arch": r.arch, "percentile": p.iter().map(|(c, v)| (c.name(), v)).collect::<std::collections::BTreeMap<_, _>>()})
                );
            } else {
                println!("index {}  {}", r.index, r.arch);
                for c in Column::ALL {
                    println!(
                        "  {:<17} {:6.2}  better than {:6.2}% of the {} cells",
                        c.name(),
                        r.acc[c],
                        p[c],
                        t.rows.len()
                    );
                }
            }
        }
    }
    Ok(())
}
