//! `kith bench --workload page`: the customer page's API on this database.
//!
//! In one run, on the same drawn parties: `GET /api/party/ID` over loopback
//! HTTP (keep-alive connections, one per thread, to a server started in
//! this process), the same JSON built in process (`kith::http::party_json`),
//! and the customer context alone (`Db::context_uncached`, what the page is
//! built around) as the baseline.

use super::bench::summary;
use hdrhistogram::Histogram;
use kith::{ContextOptions, Db, EntityId};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds")
}

/// One keep-alive HTTP/1.1 GET; the body's length.
fn get(conn: &mut BufReader<TcpStream>, addr: SocketAddr, path: &str) -> Result<usize, String> {
    write!(
        conn.get_mut(),
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut line = String::new();
    conn.read_line(&mut line).map_err(|e| e.to_string())?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("{path}: {}", line.trim()));
    }
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().map_err(|_| format!("bad length {v:?}"))?;
            }
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok(length)
}

/// Runs the page benchmark over `ids` (drawn: `warmup` first, then `ops`).
pub fn run(
    db: &Db,
    ids: &[EntityId],
    warmup: usize,
    threads: usize,
    as_json: bool,
) -> super::CliResult {
    let web = kith::http::HttpServer::bind(
        db.clone(),
        kith::http::HttpConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            threads: threads.max(1),
            ..Default::default()
        },
    )?;
    let addr = web.local_addr();
    let stop = web.shutdown_handle();
    let server = std::thread::spawn(move || web.run());
    let threads = threads.max(1);
    let measured = &ids[warmup.min(ids.len())..];
    // Over HTTP: each thread takes every `threads`-th id on its own connection.
    let mut bytes = 0usize;
    let mut over_http = hist();
    let started = Instant::now();
    let parts: Vec<Result<(Histogram<u64>, usize), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
                    stream.set_nodelay(true).map_err(|e| e.to_string())?;
                    let mut conn = BufReader::new(stream);
                    let mut h = hist();
                    let mut bytes = 0;
                    for (i, id) in ids.iter().enumerate().skip(t).step_by(threads) {
                        let t0 = Instant::now();
                        let n = get(&mut conn, addr, &format!("/api/party/{}", id.0))?;
                        if i >= warmup {
                            h.record(t0.elapsed().as_nanos().max(1) as u64)
                                .map_err(|e| e.to_string())?;
                            bytes += n;
                        }
                    }
                    Ok((h, bytes))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench thread"))
            .collect()
    });
    let http_secs = started.elapsed().as_secs_f64();
    for p in parts {
        let (h, b) = p?;
        over_http.add(h).map_err(|e| e.to_string())?;
        bytes += b;
    }
    stop.shutdown();
    let _ = server.join();
    // In process, one thread: the JSON alone, and the context alone.
    let mut in_process = hist();
    let mut context = hist();
    let opts = ContextOptions::default();
    for (i, id) in ids.iter().enumerate() {
        let t0 = Instant::now();
        let j = kith::http::party_json(db, *id)?;
        let _ = serde_json::to_vec(&j)?;
        if i >= warmup {
            in_process.record(t0.elapsed().as_nanos().max(1) as u64)?;
        }
        let t0 = Instant::now();
        db.context_uncached(*id, &opts)?;
        if i >= warmup {
            context.record(t0.elapsed().as_nanos().max(1) as u64)?;
        }
    }
    let report = json!({
        "workload": "page",
        "operations": measured.len(),
        "threads": threads,
        "http": summary(&over_http),
        "http_throughput_per_s": measured.len() as f64 / http_secs.max(1e-9),
        "mean_body_bytes": bytes / measured.len().max(1),
        "in_process_json": summary(&in_process),
        "context_alone": summary(&context),
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "customer page API over {} parties ({} warm-up), {} thread(s), mean answer {} bytes:",
            measured.len(),
            warmup,
            threads,
            report["mean_body_bytes"]
        );
        for (name, key) in [
            ("GET /api/party/ID (HTTP)", "http"),
            ("the same JSON in process", "in_process_json"),
            ("Db::context_uncached alone", "context_alone"),
        ] {
            let s = &report[key];
            println!(
                "  {name:<28} p50 {:>9.1} µs  p90 {:>9.1} µs  p99 {:>9.1} µs  p99.9 {:>9.1} µs  max {:>9.1} µs",
                s["p50_us"].as_f64().unwrap_or(0.0),
                s["p90_us"].as_f64().unwrap_or(0.0),
                s["p99_us"].as_f64().unwrap_or(0.0),
                s["p999_us"].as_f64().unwrap_or(0.0),
                s["max_us"].as_f64().unwrap_or(0.0),
            );
        }
    }
    Ok(0)
}
