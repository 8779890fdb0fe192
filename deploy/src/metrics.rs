//! Prometheus metrics of the server, in the text exposition format (0.0.4): requests by
//! endpoint and status, request latency and engine batch-size histograms, queue depth, engine
//! panics. Hand-written: a few counters do not need a metrics crate in the device binary.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Latency bucket bounds in seconds (Prometheus client defaults plus 1 ms and 2.5 ms).
const LATENCY: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Batch-size bucket bounds (images per engine run).
const BATCH: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

#[derive(Default)]
struct Histogram {
    /// Per bucket, not cumulative; the last is +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len() + 1];
        }
        let i = bounds.iter().position(|&b| v <= b).unwrap_or(bounds.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0;
        for (i, b) in bounds
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".into()])
            .enumerate()
        {
            cum += self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Default)]
struct State {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    batches: Histogram,
}

#[derive(Default)]
pub struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    /// One answered request: its endpoint label, status and seconds taken.
    pub fn request(&self, endpoint: &'static str, status: u16, seconds: f64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s.requests.entry((endpoint, status)).or_default() += 1;
        s.latency
            .entry(endpoint)
            .or_default()
            .observe(&LATENCY, seconds);
    }

    /// One engine run of `images` images.
    pub fn batch(&self, images: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.batches.observe(&BATCH, images as f64);
    }

    pub fn render(&self, queue_depth: usize, engine_panics: usize) -> String {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP betadarts_requests_total Requests answered, by endpoint and HTTP status.\n",
        );
        out.push_str("# TYPE betadarts_requests_total counter\n");
        for ((endpoint, code), n) in &s.requests {
            let _ = writeln!(
                out,
                "betadarts_requests_total{{endpoint=\"{endpoint}\",code=\"{code}\"}} {n}"
            );
        }
        out.push_str("# HELP betadarts_request_duration_seconds Time from request to answer.\n");
        out.push_str("# TYPE betadarts_request_duration_seconds histogram\n");
        for (endpoint, h) in &s.latency {
            let labels = format!("endpoint=\"{endpoint}\"");
            h.render(
                &mut out,
                "betadarts_request_duration_seconds",
                &labels,
                &LATENCY,
            );
        }
        out.push_str("# HELP betadarts_batch_size Images per engine run (micro-batches).\n");
        out.push_str("# TYPE betadarts_batch_size histogram\n");
        s.batches
            .render(&mut out, "betadarts_batch_size", "", &BATCH);
        out.push_str("# HELP betadarts_queue_depth Requests waiting for the engine.\n");
        out.push_str("# TYPE betadarts_queue_depth gauge\n");
        let _ = writeln!(out, "betadarts_queue_depth {queue_depth}");
        out.push_str(
            "# HELP betadarts_engine_panics_total Engine panics caught (each answered 500).\n",
        );
        out.push_str("# TYPE betadarts_engine_panics_total counter\n");
        let _ = writeln!(out, "betadarts_engine_panics_total {engine_panics}");
        out
    }
}

/// The endpoint label of a request path: a fixed set, so label values stay bounded whatever
/// paths clients send.
pub fn endpoint(path: &str) -> &'static str {
    match path {
        "/v1/predict" => "predict",
        "/v1/model" => "model",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        "/v2" | "/v2/health/live" | "/v2/health/ready" => "v2_server",
        p if p.starts_with("/v2/models/") && p.ends_with("/infer") => "v2_infer",
        p if p.starts_with("/v2/models/") => "v2_model",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counted() {
        let m = Metrics::default();
        for s in [0.0005, 0.003, 0.003, 20.0] {
            m.request("predict", 200, s);
        }
        m.request("predict", 400, 0.001);
        m.batch(3);
        let text = m.render(2, 0);
        for line in [
            "betadarts_requests_total{endpoint=\"predict\",code=\"200\"} 4",
            "betadarts_requests_total{endpoint=\"predict\",code=\"400\"} 1",
            "betadarts_request_duration_seconds_bucket{endpoint=\"predict\",le=\"0.001\"} 2",
            "betadarts_request_duration_seconds_bucket{endpoint=\"predict\",le=\"0.005\"} 4",
            "betadarts_request_duration_seconds_bucket{endpoint=\"predict\",le=\"10\"} 4",
            "betadarts_request_duration_seconds_bucket{endpoint=\"predict\",le=\"+Inf\"} 5",
            "betadarts_request_duration_seconds_count{endpoint=\"predict\"} 5",
            "betadarts_batch_size_bucket{le=\"2\"} 0",
            "betadarts_batch_size_bucket{le=\"4\"} 1",
            "betadarts_batch_size_sum 3",
            "betadarts_queue_depth 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert_eq!(endpoint("/v2/models/m/versions/1/infer"), "v2_infer");
        assert_eq!(endpoint("/../etc/passwd"), "other");
    }
}
