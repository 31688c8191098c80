//! An import with identity resolution killed (SIGKILL) part-way, then run
//! again to the end: the database passes its integrity check, every record
//! belongs to exactly one customer, and the customers are those of an import
//! that was never interrupted.
#![cfg(feature = "cli")] // needs the `kith` command / the server

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

fn kith(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: std::process::Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The crosswalk as a partition: the sets of keys given one customer.
fn partition(db: &str) -> (usize, BTreeSet<BTreeSet<String>>) {
    let out = ok(kith(&["--db", db, "export", "links"]));
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut rows = 0;
    for line in out.lines().skip(1) {
        let mut p = line.split(',');
        let (_, key, c) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
        by.entry(c.to_string()).or_default().insert(key.to_string());
        rows += 1;
    }
    (rows, by.into_values().collect())
}

#[test]
fn an_import_killed_part_way_and_run_again_gives_the_same_customers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let map = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/records/records.toml");
    ok(kith(&[
        "generate-records",
        "--records",
        "3000",
        "--out",
        &p("records.csv"),
    ]));
    let import = |db: &str| {
        ok(kith(&[
            "--db",
            db,
            "import",
            "--mapping",
            map,
            "--rejects",
            &p("rej.csv"),
            &p("records.csv"),
        ]))
    };
    import(&p("clean"));
    let (rows, want) = partition(&p("clean"));
    assert_eq!(rows, 3000);

    // Kill an import at a few different moments, then finish it.
    let crashed = p("crashed");
    for wait_ms in [300u64, 900, 1500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
            .args([
                "--db",
                &crashed,
                "import",
                "--mapping",
                map,
                "--rejects",
                &p("rej2.csv"),
                &p("records.csv"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !std::path::Path::new(&crashed).exists() {
            continue; // killed before it created the database
        }
        let check = ok(kith(&["--db", &crashed, "check"]));
        assert!(
            check.contains("ok"),
            "after a kill at {wait_ms} ms: {check}"
        );
    }
    let out = import(&crashed);
    assert!(out.contains("rejected 0"), "{out}");
    let check = ok(kith(&["--db", &crashed, "check"]));
    assert!(check.contains("ok"), "{check}");
    let (rows, got) = partition(&crashed);
    assert_eq!(rows, 3000, "every record belongs to exactly one customer");
    let differ = want.symmetric_difference(&got).count();
    assert!(
        differ * 100 <= want.len(),
        "{differ} customers of {} differ from the uninterrupted import",
        want.len()
    );
}
