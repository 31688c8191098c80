//! Crash test: a child process writes continuously under immediate
//! durability and is killed with SIGKILL at a random moment; the parent
//! reopens the database, runs `check()`, and verifies that every write the
//! child saw acknowledged is there, whole.
//!
//! The change log is checked too: it holds every acknowledged write's
//! changes exactly once, in order, with no gap (`check()`), and a consumer
//! group the child reads and acknowledges resumes from its stored position.
//!
//! `cargo test --test crash` runs a few rounds; `cargo test --release --test
//! crash -- --ignored` runs many. The seed is printed; rerun one with
//! `KITH_CRASH_SEED=<seed>`.

use kith::generate::Rng;
use kith::{attrs, Db, Direction, EdgeProps, NewEntity, Patch, RelKind, StorageEngine};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DIR_VAR: &str = "KITH_CRASH_DIR";

/// The child: writes until killed, printing `ack N` after each acknowledged write.
/// Write N creates a person with identifier `("crash", N)` and, for N > 0,
/// a household-member edge to the person of write N-1 and an update of it.
#[test]
#[ignore = "run by the crash tests as a child process"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let db = Db::open(&dir).unwrap();
    let start = db.stats().unwrap().entities["person"];
    let mut out = std::io::stdout().lock();
    let changes = db.changes();
    if changes.groups().unwrap().is_empty() {
        changes.create_group("crash", kith::ChangeId::ZERO).unwrap();
    }
    // What a consumer does on restart: finish what it was delivered and
    // did not acknowledge before it died.
    let left = changes
        .read_pending("crash", "child", kith::ChangeId::ZERO, usize::MAX)
        .unwrap();
    let ids: Vec<kith::ChangeId> = left.iter().map(|(id, _)| *id).collect();
    assert_eq!(changes.ack("crash", &ids).unwrap(), ids.len() as u64);
    let mut prev = if start > 0 {
        db.lookup("crash", &(start - 1).to_string()).unwrap()
    } else {
        None
    };
    for n in start.. {
        let mut w = db.write_set();
        let id = w
            .create(
                NewEntity::person()
                    .attr(attrs::EMAIL, format!("p{n}@crash.test"))
                    .attr(attrs::FAMILY_NAME, "Crash")
                    .identifier("crash", n.to_string()),
            )
            .unwrap();
        if let Some(p) = prev {
            w.relate(
                id,
                RelKind::SPOUSE_OF,
                p,
                EdgeProps::new().attr("n", n as i64),
            )
            .unwrap();
        }
        w.commit().unwrap();
        if let Some(p) = prev {
            db.update(p, Patch::new().set("next", n as i64)).unwrap();
        }
        writeln!(out, "ack {n}").unwrap();
        let got = changes.read_group("crash", "child", 1000, false).unwrap();
        let ids: Vec<kith::ChangeId> = got.iter().map(|e| e.id).collect();
        if let Some(last) = ids.last() {
            assert_eq!(changes.ack("crash", &ids).unwrap(), ids.len() as u64);
            writeln!(out, "consumed {}", last.seq).unwrap();
        }
        out.flush().unwrap();
        prev = Some(id);
    }
}

fn round(dir: &Path, r: &mut Rng) -> u64 {
    // Writes of earlier rounds that were cut off before their acknowledgement
    // are never finished; updates are checked from this round's first write on.
    let first = match Db::open(dir) {
        Ok(db) => db.stats().unwrap().entities["person"],
        Err(e) => panic!("{e}"),
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let (mut last, mut consumed) = (None, 0u64);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ack ") {
                last = Some(n.trim().parse::<u64>().unwrap());
                let _ = tx.send(());
            }
            if let Some(n) = line.strip_prefix("consumed ") {
                consumed = n.trim().parse::<u64>().unwrap();
            }
        }
        (last, consumed)
    });
    // Wait for the first acknowledgement, then kill at a random moment.
    let _ = rx.recv_timeout(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_millis(20 + r.below(400));
    while Instant::now() < deadline {
        let _ = rx.recv_timeout(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (acked, consumed) = reader.join().unwrap();
    let acked = acked.expect("child acknowledged nothing");

    let db = Db::open(dir).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_ok(), "after crash: {:?}", report.violations);
    let persons = db.stats().unwrap().entities["person"];
    assert!(
        persons > acked,
        "acknowledged {acked} but only {persons} persons survived"
    );
    for n in 0..=acked {
        let id = db
            .lookup("crash", &n.to_string())
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged write {n} lost"));
        let e = db.get(id).unwrap().unwrap();
        assert_eq!(
            e.text(attrs::EMAIL),
            Some(format!("p{n}@crash.test").as_str())
        );
        if n >= first && n < acked {
            assert_eq!(
                e.attr("next"),
                Some(kith::Value::Int(n as i64 + 1)),
                "update {n} lost"
            );
        }
        if n > 0 {
            let prev = db.lookup("crash", &(n - 1).to_string()).unwrap().unwrap();
            let spouses = db
                .neighbour_ids(id, RelKind::SPOUSE_OF, Direction::Out)
                .unwrap();
            assert_eq!(spouses, vec![prev], "edge of acknowledged write {n} lost");
        }
    }
    // The log: every acknowledged person created exactly once, in order.
    let mut created = Vec::new();
    let mut last_seq = 0;
    for e in db
        .changes()
        .follow(kith::ChangeId::ZERO)
        .timeout(Duration::ZERO)
    {
        let e = e.unwrap();
        assert_eq!(e.id.seq, last_seq + 1, "gap in the change log");
        last_seq = e.id.seq;
        if let kith::Change::EntityCreated { id, .. } = e.change {
            created.push(id);
        }
    }
    let mut want = Vec::new();
    for n in 0..=acked {
        want.push(db.lookup("crash", &n.to_string()).unwrap().unwrap());
    }
    assert_eq!(
        &created[..want.len()],
        &want[..],
        "log order of the acknowledged creates"
    );
    assert!(
        created.len() <= want.len() + 1,
        "more creates logged than written"
    );
    // The consumer group resumes where its acknowledged reads left off.
    let g = &db.changes().groups().unwrap()[0];
    assert!(
        g.last_delivered.seq >= consumed,
        "group position {} behind acknowledged {consumed}",
        g.last_delivered
    );
    let pending = db.changes().pending_summary("crash").unwrap();
    if let Some((lo, _)) = pending.bounds {
        assert!(lo.seq > consumed, "an acknowledged change is pending again");
    }
    let next = db.changes().read_group("crash", "parent", 1, true).unwrap();
    if let Some(e) = next.first() {
        assert_eq!(
            e.id.seq,
            g.last_delivered.seq + 1,
            "the group skipped changes"
        );
    }
    acked
}

fn rounds(n: usize, engine: StorageEngine) {
    if !engine.available() {
        eprintln!("{engine} is not in this build (its cargo feature is off): not tested");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Created with the engine; every later open (the child's, the checks')
    // finds it from the directory.
    let db = Db::builder()
        .engine(engine)
        .path(tmp.path())
        .open()
        .unwrap();
    assert_eq!(db.engine(), engine);
    drop(db);
    let seed = match std::env::var("KITH_CRASH_SEED") {
        Ok(s) => s.parse().expect("KITH_CRASH_SEED must be a number"),
        Err(_) => std::process::id() as u64,
    };
    eprintln!("crash test on {engine}, seed {seed} (rerun with KITH_CRASH_SEED={seed})");
    let mut r = Rng::new(seed);
    let mut total = 0;
    for _ in 0..n {
        total = round(tmp.path(), &mut r);
    }
    assert!(total > 0);
}

/// The same crash test on every storage engine: one module per engine.
macro_rules! on_every_engine {
    ($($engine:ident => $variant:expr),* $(,)?) => {$(
        mod $engine {
            use super::*;

            #[test]
            fn acknowledged_writes_survive_sigkill() {
                rounds(3, $variant);
            }

            #[test]
            #[ignore = "long: many crash rounds"]
            fn acknowledged_writes_survive_many_sigkills() {
                rounds(40, $variant);
            }
        }
    )*};
}

on_every_engine!(
    sled => StorageEngine::Sled,
    fjall => StorageEngine::Fjall,
    redb => StorageEngine::Redb,
);
