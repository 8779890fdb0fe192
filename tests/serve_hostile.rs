//! `betadarts deploy serve` against hostile clients: decompression bombs, declared giants, slow
//! bodies, stalled and trickling connections, all at once beside a 64-client load.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use betadarts_deploy::serve::ServeConfig;

use crate::serve::{http, serving};

/// Reads a raw HTTP response's status, waiting at most `wait`.
fn status_within(s: &mut TcpStream, wait: Duration) -> u16 {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    String::from_utf8_lossy(&resp)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn server_refuses_bombs_giants_and_slow_bodies_and_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        max_body: 1 << 20,
        timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;

    // An image wider than the decode limit (a few hundred bytes of PNG): refused from its header.
    let mut wide = std::io::Cursor::new(Vec::new());
    image::GrayImage::new(9000, 2)
        .write_to(&mut wide, image::ImageFormat::Png)
        .unwrap();
    let (status, v) = http(addr, "POST", "/v1/predict", "image/png", wide.get_ref());
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("too large"), "{v}");

    // A declared gigabyte: answered 413 at once, nothing read.
    let mut giant = TcpStream::connect(addr).unwrap();
    giant
        .write_all(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1073741824\r\n\r\n")
        .unwrap();
    assert_eq!(status_within(&mut giant, Duration::from_secs(5)), 413);

    // Slow clients holding bodies open: each answered 408 after the timeout, and meanwhile
    // /healthz answers at once.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n0123456789")
                .unwrap();
            s
        })
        .collect();
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        let (status, v) = http(addr, "GET", "/healthz", "text/plain", b"");
        assert_eq!((status, v["engine_panics"].as_u64()), (200, Some(0)));
        // The bound is loose because other tests share these cores; what it
        // guards against (health waiting behind request work) took seconds.
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "healthz took {:?}",
            t0.elapsed()
        );
    }
    for s in &mut slow {
        assert_eq!(status_within(s, Duration::from_secs(10)), 408);
    }
    serving.shut_down();
}

#[test]
fn stalled_connections_are_closed_and_their_slots_reused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        timeout: Duration::from_secs(1),
        max_connections: 3,
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;
    // Silent clients and one that stops in the middle of its request line: more than the
    // slots. Each is closed by the server (idle limit: timeout + 1 s), freeing its slot.
    let mut stalled: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut s = TcpStream::connect(addr).unwrap();
            if i == 0 {
                s.write_all(b"POST /v1/pre").unwrap();
            }
            s
        })
        .collect();
    let t0 = std::time::Instant::now();
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
    }
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t0.elapsed()
    );
    // The slots are free again.
    let (status, _) = http(addr, "GET", "/healthz", "text/plain", b"");
    assert_eq!(status, 200);
    serving.shut_down();
}

#[test]
fn headers_trickled_or_left_idle_are_cut_at_the_header_deadline() {
    let dir = tempfile::tempdir().unwrap();
    // The idle cut (timeout + 1 s = 21 s) never fires here: only the header deadline can.
    let cfg = ServeConfig {
        timeout: Duration::from_secs(20),
        header_timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;
    let t0 = std::time::Instant::now();
    let trickler = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let head =
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for b in head {
            if s.write_all(&[*b]).is_err() {
                return t0.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Still open after the whole header trickled in over 6 s: wait for the cut.
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        t0.elapsed()
    });
    // A keep-alive connection after one answered request, then silent.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    let idle_for = t0.elapsed();
    let trickled_for = trickler.join().unwrap();
    for (what, took) in [("trickled", trickled_for), ("idle", idle_for)] {
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(6),
            "{what} connection closed after {took:?}"
        );
    }
    serving.shut_down();
}

/// A PNG whose header declares `w`×`h` pixels, made from a small one (IHDR patched, its
/// CRC recomputed): the decoder must refuse it from the header, before allocating.
fn declared_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = std::io::Cursor::new(Vec::new());
    image::GrayImage::new(16, 16)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let mut png = png.into_inner();
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// Percentile `q` of sorted durations.
fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn sixty_four_clients_are_served_while_slow_clients_and_bombs_arrive() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        max_body: 1 << 20,
        timeout: Duration::from_secs(20),
        header_timeout: Duration::from_secs(2),
        queue: 256,
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;
    let png = crate::serve::fashion_png();
    let want = crate::serve::top1(&serving, &png);
    // A real decompression bomb within the pixel limits (6000×6000, ~40 KB compressed, 36 MB
    // decoded) and a header declaring 16000×16000 (256 MB): decoded on the bounded pool, and
    // refused from its header.
    let mut bomb = std::io::Cursor::new(Vec::new());
    image::GrayImage::new(6000, 6000)
        .write_to(&mut bomb, image::ImageFormat::Png)
        .unwrap();
    let bomb = bomb.into_inner();
    let giant = declared_png(16000, 16000);
    let stop = AtomicBool::new(false);
    let (failures, bombs, cut) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let mut health: Vec<Duration> = std::thread::scope(|s| {
        // 48 slowloris clients, trickling header bytes and reconnecting when cut.
        for _ in 0..48 {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    let Ok(mut c) = TcpStream::connect(addr) else {
                        continue;
                    };
                    for b in b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nX-Slow: "
                        .iter()
                        .cycle()
                    {
                        if stop.load(Relaxed) || c.write_all(&[*b]).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    cut.fetch_add(1, Relaxed);
                }
            });
        }
        // Four clients sending bombs in turn.
        for i in 0..4 {
            let (bomb, giant) = (&bomb, &giant);
            let (stop, bombs, failures) = (&stop, &bombs, &failures);
            s.spawn(move || {
                let mut n = i;
                while !stop.load(Relaxed) {
                    let (body, ok) = if n % 2 == 0 {
                        (bomb, 200)
                    } else {
                        (giant, 413)
                    };
                    let (status, v) = http(addr, "POST", "/v1/predict", "image/png", body);
                    if status != ok || (ok == 413 && !v["error"].is_string()) {
                        failures.fetch_add(1, Relaxed);
                    }
                    bombs.fetch_add(1, Relaxed);
                    n += 1;
                }
            });
        }
        // /healthz every 20 ms, timed from connect to the full answer.
        let prober = s.spawn(|| {
            let mut took = Vec::new();
            while !stop.load(Relaxed) {
                let t0 = std::time::Instant::now();
                let (status, v) = http(addr, "GET", "/healthz", "text/plain", b"");
                took.push(t0.elapsed());
                if status != 200 || v["status"] != "ok" {
                    failures.fetch_add(1, Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            took
        });
        // The load: 64 clients × 5 valid requests, each answer checked.
        std::thread::sleep(Duration::from_millis(500));
        let clients: Vec<_> = (0..64)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..5 {
                        let (status, v) = http(addr, "POST", "/v1/predict", "image/png", &png);
                        if status != 200 || v["predictions"][0]["top"][0]["index"] != want {
                            failures.fetch_add(1, Relaxed);
                        }
                    }
                })
            })
            .collect();
        clients.into_iter().for_each(|c| c.join().unwrap());
        // Keep the attack going past a header deadline, so cut clients reconnect.
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Relaxed);
        prober.join().unwrap()
    });
    health.sort();
    let (p50, p99, max) = (
        pct(&health, 0.5),
        pct(&health, 0.99),
        health[health.len() - 1],
    );
    eprintln!(
        "healthz under attack: {} probes, p50 {p50:?} p99 {p99:?} max {max:?}; {} bombs, {} slow clients cut",
        health.len(),
        bombs.load(Relaxed),
        cut.load(Relaxed)
    );
    assert_eq!(failures.into_inner(), 0, "every request answered correctly");
    assert!(bombs.into_inner() >= 4, "the bombs were sent");
    assert!(
        cut.into_inner() >= 48,
        "slow clients were cut at the header deadline"
    );
    // The acceptance bound is 100 ms (met: see the printed figures and README); the test is
    // looser because other tests share these two cores, and what it guards against (health
    // waiting behind decoding, or behind slow clients) took seconds.
    assert!(p50 < Duration::from_millis(100), "healthz p50 {p50:?}");
    assert!(max < Duration::from_secs(1), "healthz max {max:?}");
    serving.shut_down();
}
