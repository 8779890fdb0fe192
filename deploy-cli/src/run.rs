//! `betadarts deploy predict|bench|serve|eval`: exported models on tract or ONNX Runtime.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use betadarts_data::files;
use betadarts_deploy::serve::{ServeConfig, shutdown_signal, start};
use betadarts_deploy::{EngineKind, ModelMeta, bench, load_engine, predict};

use crate::DeployWhat;

pub(crate) fn read_model(path: &Path) -> Result<(Vec<u8>, ModelMeta)> {
    let bytes = files::read_file(path, files::MODEL_LIMIT)?;
    let meta = ModelMeta::from_onnx(&bytes).with_context(|| path.display().to_string())?;
    Ok((bytes, meta))
}

pub fn run(what: DeployWhat, quiet: bool) -> Result<()> {
    match what {
        DeployWhat::Predict {
            model,
            images,
            engine,
            threads,
            top_k,
            json,
        } => {
            let (bytes, meta) = read_model(&model)?;
            let mut engine = load_engine(engine.parse()?, &bytes, threads)?;
            for path in &images {
                let data = files::read_file(path, files::IMAGE_LIMIT)?;
                let (logits, classes) = predict::logits_of_images(engine.as_mut(), &meta, &[data])
                    .with_context(|| format!("{} with {}", path.display(), model.display()))?;
                let top = &predict::top_classes(&meta, &logits, classes, top_k)[0];
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"file": path.display().to_string(), "top": top, "logits": logits})
                    );
                } else {
                    let list: Vec<String> = top
                        .iter()
                        .map(|t| format!("{} ({}) {:.2}%", t.class, t.index, 100.0 * t.prob))
                        .collect();
                    println!("{}: {}", path.display(), list.join(", "));
                }
            }
            Ok(())
        }
        DeployWhat::Bench {
            model,
            engine,
            batch,
            threads,
            seconds,
            json,
        } => {
            let (bytes, meta) = read_model(&model)?;
            let engines: Vec<EngineKind> = match engine.as_str() {
                "all" => {
                    let (usable, missing) = EngineKind::usable();
                    for (kind, why) in missing.iter().filter(|_| !json) {
                        eprintln!("{kind}: skipped ({why})");
                    }
                    usable
                }
                e => vec![e.parse()?],
            };
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Each engine at 1 thread and at every core, unless --threads says otherwise.
            let threads = if threads.is_empty() {
                let mut t = vec![1];
                if cores > 1 {
                    t.push(cores);
                }
                t
            } else {
                threads
            };
            let mut rows = Vec::new();
            for kind in engines {
                for &t in &threads {
                    let t = Some(t);
                    for &b in &batch {
                        rows.push(bench::bench(
                            kind,
                            t,
                            &bytes,
                            &meta,
                            b,
                            5,
                            Duration::from_secs_f64(seconds),
                        )?);
                    }
                }
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({"model": model.display().to_string(), "network": meta.network, "madds": meta.madds, "rows": rows})
                );
            } else {
                println!(
                    "{} ({} network, {} multiply-adds per image)",
                    model.display(),
                    meta.network,
                    meta.madds
                        .map_or("?".into(), |m| format!("{:.1} M", m as f64 / 1e6))
                );
                println!(
                    "{:<6} {:>7} {:>5} {:>10} {:>10} {:>10} {:>11} {:>8}",
                    "engine",
                    "threads",
                    "batch",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "images/s",
                    "GFLOP/s"
                );
                for r in &rows {
                    println!(
                        "{:<6} {:>7} {:>5} {:>10.2} {:>10.2} {:>10.2} {:>11.1} {:>8}",
                        r.engine,
                        r.threads.map_or("-".into(), |t| t.to_string()),
                        r.batch,
                        r.p50_ms,
                        r.p90_ms,
                        r.p99_ms,
                        r.images_per_s,
                        r.gflops.map_or("?".into(), |g| format!("{g:.1}"))
                    );
                }
            }
            Ok(())
        }
        DeployWhat::Serve {
            model,
            port,
            host,
            engine,
            threads,
            max_body,
            timeout,
            header_timeout,
            queue,
            max_batch,
            max_connections,
            model_name,
        } => {
            let (bytes, meta) = read_model(&model)?;
            let model_name = model_name
                .or_else(|| model.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "model".into());
            // It goes in URL paths, where a tritonclient puts it as it is.
            if model_name.is_empty()
                || !model_name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                bail!(
                    "--model-name {model_name:?}: use letters, digits, '-', '_' or '.' (it is part of the /v2 paths)"
                );
            }
            let addr: SocketAddr = format!("{host}:{port}")
                .parse()
                .with_context(|| format!("--host {host} --port {port}"))?;
            let cfg = ServeConfig {
                engine: engine.parse()?,
                threads,
                max_body,
                timeout: Duration::from_secs_f64(timeout),
                header_timeout: Duration::from_secs_f64(header_timeout),
                queue,
                max_batch,
                max_connections,
                model_name,
                ..ServeConfig::default()
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let server = start(bytes, meta, cfg.clone(), addr, shutdown_signal()).await?;
                eprintln!("serving {} with {} on http://{} (POST /v1/predict, GET /v1/model, GET /healthz, GET /metrics; KServe v2: POST /v2/models/{}/infer)", model.display(), cfg.engine, server.addr, cfg.model_name);
                server.done.await??;
                eprintln!("shut down");
                anyhow::Ok(())
            })
        }
        DeployWhat::Eval {
            model,
            data,
            engine,
            threads,
            batch,
            json,
            baseline,
        } => {
            let how = crate::eval::How {
                engine: engine.parse()?,
                threads,
                batch,
                json,
                quiet,
            };
            crate::eval::run(&model, baseline.as_deref(), &data, &how)
        }
    }
}
