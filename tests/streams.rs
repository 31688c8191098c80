//! The change log over the wire, as the Redis stream `kith:changes`: the
//! Rust client and raw commands (errors in Redis's own words), a blocked
//! XREAD that holds no worker, two connections resolving the same person at
//! once, and redis-py's stream API (XREAD BLOCK, consumer groups across a
//! server restart, claiming a dead consumer's work) through
//! `tests/py/streams.py`.
#![cfg(feature = "cli")] // needs the `kith` command / the server

use kith::client::Client;
use kith::server::{Frame, ServerConfig};
use kith::Db;
use std::time::{Duration, Instant};

mod common;
use common::start_with;

fn cmd(c: &mut Client, args: &[&str]) -> Frame {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    match c.command(&a) {
        Ok(f) => f,
        Err(kith::client::ClientError::Server { code, message }) => {
            Frame::Error(format!("{code} {message}"))
        }
        Err(e) => panic!("{e}"),
    }
}

fn error(f: Frame) -> String {
    match f {
        Frame::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn stream_commands_answer_like_redis() {
    let s = start_with(Db::temporary().unwrap(), ServerConfig::default());
    let mut c = Client::connect(s.addr).unwrap();
    assert_eq!(cmd(&mut c, &["XLEN", "kith:changes"]), Frame::Integer(0));
    assert_eq!(
        cmd(&mut c, &["XREAD", "STREAMS", "kith:changes", "0"]),
        Frame::Null
    );
    cmd(
        &mut c,
        &[
            "ENTITY.CREATE",
            "person",
            r#"{"attrs":{"given_name":"Ann"}}"#,
        ],
    );
    assert_eq!(cmd(&mut c, &["XLEN", "kith:changes"]), Frame::Integer(2));
    assert_eq!(cmd(&mut c, &["XLEN", "other"]), Frame::Integer(0));
    let Frame::Array(all) = cmd(&mut c, &["XRANGE", "kith:changes", "-", "+"]) else {
        panic!()
    };
    assert_eq!(all.len(), 2);
    let Frame::Array(rev) = cmd(
        &mut c,
        &["XREVRANGE", "kith:changes", "+", "-", "COUNT", "1"],
    ) else {
        panic!()
    };
    assert_eq!(rev[0], all[1]);
    assert_eq!(
        cmd(&mut c, &["XRANGE", "nope", "-", "+"]),
        Frame::Array(vec![])
    );
    // Bad input, in Redis's own words.
    assert_eq!(
        error(cmd(&mut c, &["XREAD", "STREAMS", "kith:changes", "1-x"])),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert!(
        error(cmd(&mut c, &["XREAD", "STREAMS", "kith:changes", "a", "0"]))
            .starts_with("ERR Unbalanced")
    );
    assert!(error(cmd(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            "kith:changes",
            ">"
        ]
    ))
    .starts_with("NOGROUP"));
    assert!(error(cmd(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "other", ">"]
    ))
    .starts_with("NOGROUP No such key 'other'"));
    assert!(error(cmd(&mut c, &["XINFO", "STREAM", "other"])).starts_with("ERR no such key"));
    assert!(error(cmd(&mut c, &["XGROUP", "CREATE", "other", "g", "$"]))
        .contains("requires the key to exist"));
    let long = "g".repeat(201);
    for bad in ["", long.as_str()] {
        assert!(
            error(cmd(&mut c, &["XGROUP", "CREATE", "kith:changes", bad, "0"]))
                .contains("a group name must be 1 to 200 bytes"),
            "{bad:?}"
        );
    }
    assert_eq!(
        cmd(&mut c, &["XGROUP", "CREATE", "kith:changes", "g", "0"]),
        Frame::ok()
    );
    assert!(
        error(cmd(&mut c, &["XGROUP", "CREATE", "kith:changes", "g", "0"]))
            .starts_with("BUSYGROUP")
    );
    assert!(error(cmd(
        &mut c,
        &["XGROUP", "SETID", "kith:changes", "nope", "0"]
    ))
    .starts_with("NOGROUP"));
    assert_eq!(
        cmd(&mut c, &["XACK", "kith:changes", "g", "1-1"]),
        Frame::Integer(0)
    );
    assert_eq!(
        cmd(&mut c, &["XACK", "kith:changes", "nope", "1-1"]),
        Frame::Integer(0)
    );
    assert!(error(cmd(&mut c, &["XACK", "kith:changes", "g", "zz"]))
        .starts_with("ERR Invalid stream ID"));
    for write in ["XADD", "XDEL", "XTRIM", "XSETID"] {
        assert!(error(cmd(&mut c, &[write, "kith:changes", "*", "a", "b"])).contains("read-only"));
    }
    let Frame::Array(p) = cmd(&mut c, &["XPENDING", "kith:changes", "g"]) else {
        panic!()
    };
    assert_eq!(p[0], Frame::Integer(0));
    s.stop().unwrap();
}

#[test]
fn a_blocked_xread_holds_no_worker_and_wakes_on_a_commit() {
    let s = start_with(
        Db::temporary().unwrap(),
        ServerConfig {
            workers: 1,
            ..ServerConfig::default()
        },
    );
    let addr = s.addr;
    let reader = std::thread::spawn(move || {
        let mut c = Client::connect(addr).unwrap();
        let t0 = Instant::now();
        let f = cmd(
            &mut c,
            &["XREAD", "BLOCK", "5000", "STREAMS", "kith:changes", "$"],
        );
        (f, t0.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    // The only worker still answers other connections at once.
    let mut other = Client::connect(addr).unwrap();
    let t0 = Instant::now();
    other.ping().unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "PING waited {:?}",
        t0.elapsed()
    );
    cmd(&mut other, &["ENTITY.CREATE", "person", "{}"]);
    let (f, waited) = reader.join().unwrap();
    assert!(waited < Duration::from_secs(3), "woke after {waited:?}");
    let Frame::Array(streams) = f else {
        panic!("{f:?}")
    };
    assert_eq!(streams.len(), 1);
    // A BLOCK that times out answers nil.
    let t0 = Instant::now();
    assert_eq!(
        cmd(
            &mut other,
            &["XREAD", "BLOCK", "100", "STREAMS", "kith:changes", "$"]
        ),
        Frame::Null
    );
    assert!(t0.elapsed() >= Duration::from_millis(100));
    s.stop().unwrap();
}

#[test]
fn two_connections_upserting_one_person_make_one_customer() {
    for round in 0..5 {
        let db = Db::temporary().unwrap();
        let s = start_with(db.clone(), ServerConfig::default());
        let doc = r#"{"kind":"person","attrs":{"given_name":"Maria","family_name":"Lopez","birth_date":{"$date":"1980-05-17"},"national_id":"123-45-6789"}}"#;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = ["crm", "web"]
            .into_iter()
            .map(|system| {
                let (addr, barrier) = (s.addr, barrier.clone());
                std::thread::spawn(move || {
                    let mut c = Client::connect(addr).unwrap();
                    barrier.wait();
                    match cmd(&mut c, &["RECORD.UPSERT", system, "1", doc]) {
                        Frame::Bulk(b) => serde_json::from_slice::<serde_json::Value>(&b).unwrap()
                            ["customer"]
                            .as_u64()
                            .unwrap(),
                        other => panic!("{other:?}"),
                    }
                })
            })
            .collect();
        let c: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(c[0], c[1], "round {round}");
        assert_eq!(db.stats().unwrap().entities["person"], 1);
        s.stop().unwrap();
    }
}

/// Runs one step of tests/py/streams.py; its stdout.
fn python(step: &str, port: u16, extra: &[&str]) -> Option<String> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        if std::env::var_os("KITH_SKIP_PYTHON").is_some() {
            return None;
        }
        panic!("python3 with redis-py is needed (pip install redis; .ci/run does), or set KITH_SKIP_PYTHON=1");
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/streams.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(step)
        .arg(port.to_string())
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{step}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn redis_py_follows_the_change_log() {
    let s = start_with(Db::temporary().unwrap(), ServerConfig::default());
    python("wake", s.addr.port(), &[]);
    python("claim", s.addr.port(), &[]);
    s.stop().unwrap();
}

#[test]
fn redis_py_reads_the_actions_of_rules_set_over_the_wire() {
    let s = start_with(Db::temporary().unwrap(), ServerConfig::default());
    python("actions", s.addr.port(), &[]);
    s.stop().unwrap();
}

#[test]
fn redis_py_consumer_groups_deliver_at_least_once_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start_with(Db::open(tmp.path()).unwrap(), ServerConfig::default());
    let Some(out) = python("group-before", s.addr.port(), &[]) else {
        return;
    };
    let unacked = out.trim().to_string();
    s.stop().unwrap();
    let db = Db::open(tmp.path()).unwrap();
    assert!(db.check().unwrap().is_ok());
    let s = start_with(db, ServerConfig::default());
    python("group-after", s.addr.port(), &[&unacked]);
    s.stop().unwrap();
}
