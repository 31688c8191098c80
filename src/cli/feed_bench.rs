//! `kith bench --workload freshness`: how long a commit takes to reach a
//! follower of the change log — in process (`Changes::follow`), or over the
//! wire (`XREAD BLOCK` against `kith serve`), side by side with
//! redis-server's own `XADD` → `XREAD BLOCK` in the same run (`--redis`).
//!
//! One writer commits at `--rate` per second (open loop); one follower
//! records when each commit reaches it. Two latencies per commit: from the
//! write's start (what a touchpoint waits after the change was made,
//! durability included) and from its acknowledgement (what the feed itself
//! adds; 0 when the follower saw it first).

use super::bench::{new_histogram, summary};
use kith::client::Client;
use kith::server::Frame;
use kith::{Db, NewEntity};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Each paced write: when it started, when it was acknowledged, what it gave.
pub(crate) type Sent<T> = Vec<(Instant, Instant, T)>;

/// Runs `write` `ops` times, paced at `rate` per second (open loop), and
/// returns when each write started, when it was acknowledged, and what it
/// returned.
pub(crate) fn paced_writes<T>(
    ops: u64,
    rate: f64,
    mut write: impl FnMut(u64) -> Result<T, Box<dyn std::error::Error>>,
) -> Result<Sent<T>, Box<dyn std::error::Error>> {
    let mut sent = Vec::with_capacity(ops as usize);
    let start = Instant::now();
    for i in 0..ops {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        let value = write(i)?;
        sent.push((t, Instant::now(), value));
    }
    Ok(sent)
}

fn histograms(
    sent: &[(Instant, Instant, ())],
    seen: &[Instant],
) -> (hdrhistogram::Histogram<u64>, hdrhistogram::Histogram<u64>) {
    let (mut from_start, mut from_ack) = (new_histogram(), new_histogram());
    for ((s, a, ()), v) in sent.iter().zip(seen) {
        let _ = from_start.record(v.saturating_duration_since(*s).as_nanos().max(1) as u64);
        let _ = from_ack.record(v.saturating_duration_since(*a).as_nanos().max(1) as u64);
    }
    (from_start, from_ack)
}

fn report(name: &str, sent: &[(Instant, Instant, ())], seen: &[Instant]) -> serde_json::Value {
    let (s, a) = histograms(sent, seen);
    json!({"system": name, "commits": sent.len(), "seen": seen.len(),
           "from_write_start": summary(&s), "from_ack": summary(&a)})
}

/// In process: a follower thread on `Changes::follow`, the writer creating persons.
pub(crate) fn in_process(
    db: &Db,
    ops: u64,
    rate: f64,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let seen = Arc::new(Mutex::new(Vec::with_capacity(ops as usize)));
    let start_at = db.changes().last();
    let follower = {
        let (db, seen) = (db.clone(), seen.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            for e in db
                .changes()
                .follow(start_at)
                .timeout(Duration::from_secs(10))
            {
                let Ok(e) = e else { break };
                if matches!(e.change, kith::Change::Committed { .. }) {
                    seen.lock().unwrap().push(Instant::now());
                    n += 1;
                    if n == ops {
                        break;
                    }
                }
            }
        })
    };
    let sent = paced_writes(ops, rate, |_| {
        db.create(NewEntity::person())?;
        Ok(())
    })?;
    follower.join().map_err(|_| "the follower panicked")?;
    let seen = seen.lock().unwrap().clone();
    Ok(report("kith (in process)", &sent, &seen))
}

fn frames_text(f: &Frame) -> Option<String> {
    match f {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Simple(s) => Some(s.clone()),
        _ => None,
    }
}

/// The `(id, is_commit)` of each entry of an XREAD reply. For redis-server
/// every entry is one write; for kith a write is its `commit` entry.
fn entries(reply: &Frame, kith: bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let Frame::Array(streams) = reply else {
        return out;
    };
    for s in streams {
        let Frame::Array(pair) = s else { continue };
        let Some(Frame::Array(list)) = pair.get(1) else {
            continue;
        };
        for e in list {
            let Frame::Array(parts) = e else { continue };
            let Some(id) = parts.first().and_then(frames_text) else {
                continue;
            };
            let commit = !kith
                || matches!(parts.get(1), Some(Frame::Array(fv)) if fv.chunks(2).any(|c| frames_text(&c[0]).as_deref() == Some("type") && c.get(1).and_then(frames_text).as_deref() == Some("commit")));
            out.push((id, commit));
        }
    }
    out
}

/// The follower of [`wire`]: XREAD BLOCK after `last` until `ops` commits
/// arrived, noting when each did.
fn follow(
    mut reader: Client,
    key: &[u8],
    mut last: String,
    ops: u64,
    kith: bool,
    seen: &Mutex<Vec<Instant>>,
) -> Result<(), String> {
    let mut n = 0;
    while n < ops {
        let reply = reader
            .command(&[
                b"XREAD",
                b"COUNT",
                b"10000",
                b"BLOCK",
                b"10000",
                b"STREAMS",
                key,
                last.as_bytes(),
            ])
            .map_err(|e| e.to_string())?;
        let now = Instant::now();
        let got = entries(&reply, kith);
        if got.is_empty() {
            return Err("the follower waited 10 s for a change".into());
        }
        for (id, commit) in got {
            if commit {
                seen.lock().unwrap().push(now);
                n += 1;
            }
            last = id;
        }
    }
    Ok(())
}

/// Over the wire: one connection writes, one follows with XREAD BLOCK.
/// `kith`: `ENTITY.CREATE` against kith:changes; otherwise `XADD` to a
/// redis-server stream.
pub(crate) fn wire(
    addr: &str,
    ops: u64,
    rate: f64,
    kith: bool,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let key: &[u8] = if kith {
        b"kith:changes"
    } else {
        b"kith-bench:feed"
    };
    let mut reader = Client::connect(addr)?;
    let mut writer = Client::connect(addr)?;
    reader.set_timeout(Some(Duration::from_secs(30)))?;
    if !kith {
        writer.command(&[b"DEL", key])?;
    }
    // Pin the starting position so that nothing is missed between calls.
    let last = match reader.command(&[b"XREVRANGE", key, b"+", b"-", b"COUNT", b"1"])? {
        Frame::Array(a) => match a.first() {
            Some(Frame::Array(p)) => p.first().and_then(frames_text).unwrap_or("0-0".into()),
            _ => "0-0".into(),
        },
        _ => "0-0".into(),
    };
    let seen = Arc::new(Mutex::new(Vec::with_capacity(ops as usize)));
    let follower = {
        let (seen, key) = (seen.clone(), key.to_vec());
        std::thread::spawn(move || follow(reader, &key, last, ops, kith, &seen))
    };
    let sent = paced_writes(ops, rate, |i| {
        let n = i.to_string();
        let reply = if kith {
            writer.command(&[b"ENTITY.CREATE", b"person", b"{}"])?
        } else {
            writer.command(&[b"XADD", key, b"*", b"n", n.as_bytes()])?
        };
        match reply {
            Frame::Error(e) => Err(e.into()),
            _ => Ok(()),
        }
    })?;
    follower.join().map_err(|_| "the follower panicked")??;
    if !kith {
        writer.command(&[b"DEL", key])?;
    }
    let seen = seen.lock().unwrap().clone();
    Ok(report(
        if kith {
            "kith serve (XREAD BLOCK)"
        } else {
            "redis-server (XADD, XREAD BLOCK)"
        },
        &sent,
        &seen,
    ))
}

/// Runs the freshness workload and prints its report.
pub(crate) fn run(
    db: Option<&Db>,
    server: Option<&str>,
    redis: Option<&str>,
    ops: u64,
    rate: f64,
    as_json: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    if let Some(db) = db {
        rows.push(in_process(db, ops, rate)?);
    }
    if let Some(s) = server {
        rows.push(wire(s, ops, rate, true)?);
    }
    if let Some(r) = redis {
        rows.push(wire(r, ops, rate, false)?);
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    println!("commit -> follower freshness, {ops} commits at {rate}/s (µs)");
    println!(
        "{:<36} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "start p50", "start p99", "ack p50", "ack p99", "max"
    );
    for r in &rows {
        let (s, a) = (&r["from_write_start"], &r["from_ack"]);
        println!(
            "{:<36} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            r["system"].as_str().unwrap_or(""),
            s["p50_us"].as_f64().unwrap_or(0.0),
            s["p99_us"].as_f64().unwrap_or(0.0),
            a["p50_us"].as_f64().unwrap_or(0.0),
            a["p99_us"].as_f64().unwrap_or(0.0),
            s["max_us"].as_f64().unwrap_or(0.0),
        );
    }
    Ok(0)
}
