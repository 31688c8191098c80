//! The `kith` command as a user runs it: output, exit codes, one-line errors.
#![cfg(feature = "cli")] // needs the `kith` command / the server

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn kith(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_one_line_error(o: &Output, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {} stderr: {}",
        stdout(o),
        stderr(o)
    );
    let e = stderr(o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(needle), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

fn generated(dir: &Path) -> String {
    let db = dir.join("db");
    let d = db.to_str().unwrap().to_string();
    let o = kith(&["--db", &d, "generate", "--persons", "50", "--seed", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    d
}

#[test]
fn reads_through_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let key = kith::generate::core_key(0);
    let o = kith(&["--db", &d, "lookup", "core_banking", &key]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("person "), "{}", stdout(&o));
    assert!(stdout(&o).contains(&format!("core_banking:{key}")));

    let o = kith(&["--db", &d, "lookup", "core_banking", &key, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["kind"], "person");
    let id = doc["id"].as_u64().unwrap();

    let o = kith(&["--db", &d, "get", &id.to_string(), "--json"]);
    let doc2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc, doc2);
    assert!(doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "MEMBER_OF"));

    let email = kith::generate::email(0).to_uppercase();
    let o = kith(&["--db", &d, "find", "email", &email]);
    assert!(o.status.success());
    assert!(
        stdout(&o).starts_with(&format!("{id} person")),
        "{}",
        stdout(&o)
    );

    let o = kith(&["--db", &d, "check"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("ok: no violations"));

    let o = kith(&["--db", &d, "stats", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["entities"]["person"], 50);
    assert!(s["disk_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn errors_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here");
    let m = missing.to_str().unwrap();
    assert_one_line_error(&kith(&["--db", m, "get", "1"]), "no database at");
    assert!(!missing.exists(), "a read must not create a database");

    let d = generated(tmp.path());
    assert_one_line_error(
        &kith(&["--db", &d, "get", "999999"]),
        "no entity with id 999999",
    );
    assert_one_line_error(
        &kith(&["--db", &d, "lookup", "crm", "nope"]),
        "no entity has identifier crm:nope",
    );
    assert_one_line_error(
        &kith(&["--db", &d, "find", "shoe_size", "9"]),
        "not an indexed attribute",
    );
    let o = kith(&["--db", &d, "find", "email", "nobody@example.com"]);
    assert_eq!(o.status.code(), Some(1));
    assert_one_line_error(
        &kith(&["--db", &d, "generate", "--persons", "5"]),
        "already holds data",
    );

    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert_one_line_error(
        &kith(&["--db", file.to_str().unwrap(), "stats"]),
        "not a kith database",
    );

    let o = kith(&["--db", &d, "get", "not-a-number"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn demo_builds_a_bank_and_shows_a_customer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let o = kith(&["--db", d, "demo", "--persons", "300"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "Everything kith knows about customer",
        "Known to",
        "lookup",
        "Household",
        "Accounts",
        "µs",
        "on kith:actions",
        "rule     platinum-large-withdrawal",
        "because  customer.tier = platinum",
        "did      set next_best_action = banker_call",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    // Running it again reuses the database and shows the same customer.
    let again = kith(&["--db", d, "demo", "--persons", "300"]);
    assert!(stdout(&again).contains("Using the demo bank already"));
    let line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("Everything"))
            .map(str::to_string)
    };
    assert_eq!(line(&out), line(&stdout(&again)));
    // The second run's withdrawal is another customer's: the rule acts again.
    assert!(
        stdout(&again).contains("on kith:actions"),
        "{}",
        stdout(&again)
    );
    let o = kith(&["--db", d, "rules", "actions"]);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    let o = kith(&["--db", d, "check"]);
    assert!(o.status.success(), "{}", stdout(&o));
}

#[test]
fn check_reports_violations_with_exit_code_one() {
    for engine in kith::StorageEngine::available_engines() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db");
        let d = db.to_str().unwrap();
        let o = kith(&[
            "--db",
            d,
            "--engine",
            engine.name(),
            "generate",
            "--persons",
            "50",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        {
            // Remove one direction of one relationship behind kith's back.
            let s = kith::raw::RawStore::open(&db, engine).unwrap();
            assert_eq!(s.engine(), engine);
            let (k, _) = s.scan_prefix(&[2u8]).into_iter().next().unwrap();
            s.remove(&k);
        }
        let o = kith(&["--db", d, "check"]);
        assert_eq!(o.status.code(), Some(1), "{engine}");
        let out = stdout(&o);
        assert!(out.contains("violation: adj/"), "{engine}: {out}");
        assert!(out.contains("the other direction"), "{out}");
    }
}

#[test]
fn migrate_copies_a_database_into_another_engine_and_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let key = kith::generate::core_key(4);
    let before = stdout(&kith(&[
        "--db",
        &d,
        "lookup",
        "core_banking",
        &key,
        "--json",
    ]));
    let migrate = |from: &str, engine: &str, out: &str| {
        kith(&["--db", from, "migrate", "--to-engine", engine, "--out", out])
    };
    let mut from = d.clone();
    for engine in ["fjall", "redb", "sled"] {
        let out = tmp.path().join(format!("to-{engine}"));
        let out = out.to_str().unwrap();
        let o = migrate(&from, engine, out);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("the copy checks clean"),
            "{}",
            stdout(&o)
        );
        // The copy opens with its own engine, unnamed, and answers the same.
        let o = kith(&["--db", out, "lookup", "core_banking", &key, "--json"]);
        assert_eq!(stdout(&o), before, "{engine}");
        let o = kith(&["--db", out, "check"]);
        assert!(o.status.success(), "{}", stdout(&o));
        let o = kith(&["--db", out, "stats"]);
        assert!(
            stdout(&o).contains(&format!("MiB ({engine})")),
            "{}",
            stdout(&o)
        );
        let o = kith(&["--db", out, "stats", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["engine"], engine);
        // Named wrongly: refused, one line, nothing changed.
        let other = if engine == "redb" { "fjall" } else { "redb" };
        let o = kith(&["--db", out, "--engine", other, "stats"]);
        assert_one_line_error(&o, &format!("stored with {engine}, not {other}"));
        // Into a directory that holds something: refused, the source untouched.
        let o = migrate(&from, engine, out);
        assert_one_line_error(&o, "not empty");
        from = out.to_string();
    }
    let o = kith(&["--db", &d, "migrate", "--to-engine", "lmdb", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("one of sled, fjall, redb"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn relationship_queries_through_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let key = kith::generate::core_key(0);
    let o = kith(&["--db", &d, "lookup", "core_banking", &key, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = doc["id"].as_u64().unwrap().to_string();

    let o = kith(&["--db", &d, "household", &id, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let members = h[0]["members"].as_array().unwrap();
    assert!(members
        .iter()
        .any(|m| m["person"]["id"].as_u64().unwrap().to_string() == id));
    assert!(h[0]["totals"]["checking"]["$decimal"].is_string());

    for args in [
        vec!["household", id.as_str()],
        vec!["guarantors", id.as_str(), "--depth", "3"],
        vec!["shared", id.as_str()],
        vec![
            "connected",
            id.as_str(),
            "--depth",
            "2",
            "--kinds",
            "MEMBER_OF,SPOUSE_OF",
        ],
    ] {
        let mut full = vec!["--db", d.as_str()];
        full.extend(args.iter());
        let o = kith(&full);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let o = kith(&["--db", &d, "guarantors", &id, "--json"]);
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(g["customer"].as_u64().unwrap().to_string(), id);
    // The organization with id 1 heads a group.
    let o = kith(&["--db", &d, "group", "1", "--json"]);
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(g["ultimate_parent"], 1);
    let hh = h[0]["household"]["id"].as_u64().unwrap().to_string();
    let o = kith(&[
        "--db",
        &d,
        "path",
        &id,
        &hh,
        "--kinds",
        "MEMBER_OF",
        "--json",
    ]);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["paths"][0]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(p["paths"][0]["hops"][0]["kind"], "MEMBER_OF");
    assert_eq!(p["truncated"], false);
    let o = kith(&["--db", &d, "graph", &id, "--depth", "1", "--dot"]);
    assert!(stdout(&o).starts_with("digraph kith {"));
    assert_one_line_error(
        &kith(&["--db", &d, "household", "999999"]),
        "no entity with id 999999",
    );
    assert_one_line_error(
        &kith(&["--db", &d, "guarantors", &id, "--depth", "99"]),
        "depth 99 is out of range",
    );
    assert_one_line_error(
        &kith(&["--db", &d, "path", &id, &hh, "--kinds", "NOPE"]),
        "unknown relationship kind",
    );
}

#[test]
fn context_and_interactions_through_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let key = kith::generate::core_key(1);
    let o = kith(&["--db", &d, "lookup", "core_banking", &key, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = doc["id"].as_u64().unwrap().to_string();
    let o = kith(&[
        "--db",
        &d,
        "interact",
        &id,
        "--channel",
        "call",
        "--type",
        "dispute",
        "--status",
        "open",
        "--at",
        "2030-01-01T00:00:00Z",
        "--summary",
        "card charge",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let iid = stdout(&o).trim().to_string();
    let o = kith(&["--db", &d, "interactions", &id, "--limit", "1"]);
    assert!(
        stdout(&o).starts_with(&format!(
            "{iid} interaction 2030-01-01T00:00:00Z card charge (open)"
        )),
        "{}",
        stdout(&o)
    );
    let o = kith(&[
        "--db",
        &d,
        "interactions",
        &id,
        "--from",
        "2029-01-01T00:00:00Z",
    ]);
    assert_eq!(stdout(&o).lines().count(), 1);
    let o = kith(&["--db", &d, "context", &id, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["customer"]["id"].as_u64().unwrap().to_string(), id);
    assert_eq!(
        c["recent_interactions"][0]["id"]
            .as_u64()
            .unwrap()
            .to_string(),
        iid
    );
    assert!(c["open_items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["what"] == "open dispute"));
    assert!(!c["accounts"].as_array().unwrap().is_empty());
    let o = kith(&["--db", &d, "context", &id]);
    assert!(stdout(&o).contains("open items:"));
    assert_one_line_error(
        &kith(&[
            "--db",
            &d,
            "interact",
            "999999",
            "--channel",
            "web",
            "--type",
            "x",
        ]),
        "no entity with id 999999",
    );
    assert_one_line_error(
        &kith(&[
            "--db",
            &d,
            "interact",
            &id,
            "--channel",
            "web",
            "--type",
            "x",
            "--at",
            "yesterday",
        ]),
        "not a valid timestamp",
    );
}

#[test]
fn bench_measures_and_reports_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    for w in [
        "get",
        "lookup",
        "find",
        "neighbours",
        "two-hop",
        "household",
        "guarantors",
        "context",
        "context-cached",
    ] {
        let o = kith(&[
            "--db",
            &d,
            "bench",
            "--workload",
            w,
            "--ops",
            "300",
            "--warmup",
            "20",
            "--json",
        ]);
        assert!(o.status.success(), "{w}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["operations"], 300, "{w}");
        assert_eq!(r["errors"], 0, "{w}");
        let l = &r["latency"];
        assert!(l["p50_us"].as_f64().unwrap() > 0.0, "{w}");
        assert!(
            l["p50_us"].as_f64().unwrap() <= l["p99_us"].as_f64().unwrap(),
            "{w}"
        );
        assert!(
            r["loop_overhead"]["p50_us"].as_f64().unwrap() < l["p99_us"].as_f64().unwrap() + 1.0
        );
    }
    let o = kith(&[
        "--db",
        &d,
        "bench",
        "--workload",
        "get",
        "--ops",
        "200",
        "--distribution",
        "zipf",
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ops/s"));
    // An ids file, and a bad one.
    let ids = tmp.path().join("ids.txt");
    std::fs::write(&ids, "1\n2\n").unwrap();
    let o = kith(&[
        "--db",
        &d,
        "bench",
        "--ids",
        ids.to_str().unwrap(),
        "--ops",
        "2",
        "--warmup",
        "0",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&ids, "1\nseven\n").unwrap();
    assert_one_line_error(
        &kith(&["--db", &d, "bench", "--ids", ids.to_str().unwrap()]),
        "ids.txt:2: not an id",
    );
    // Missing and empty databases.
    let missing = tmp.path().join("missing");
    assert_one_line_error(
        &kith(&["--db", missing.to_str().unwrap(), "bench"]),
        "no database at",
    );
    let empty = tmp.path().join("empty");
    kith::Db::open(&empty).unwrap();
    assert_one_line_error(
        &kith(&["--db", empty.to_str().unwrap(), "bench"]),
        "holds no persons",
    );
}

#[test]
fn bench_over_the_wire_and_a_server_that_goes_away() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let (mut server, addr, before) = serve(&d, &["--prewarm"]);
    assert!(
        before[0].starts_with("prewarmed the page cache: "),
        "{before:?}"
    );
    let o = kith(&[
        "bench",
        "--server",
        &addr,
        "--workload",
        "context",
        "--ops",
        "300",
        "--warmup",
        "10",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["operations"], 300);
    assert_eq!(r["partial"], false);
    // The context workload goes through the server's reply cache, which says so.
    assert!(r["reply_cache"]["misses"].as_u64().unwrap() > 0, "{r}");
    assert!(r["reply_cache"]["max_bytes"].as_u64().unwrap() > 0, "{r}");
    assert!(r["compare_with"]
        .as_str()
        .unwrap()
        .starts_with("redis-benchmark"));
    // Kill the server in the middle of a long run: a clear error and a partial report, no hang.
    let bench = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args([
            "bench",
            "--server",
            &addr,
            "--workload",
            "get",
            "--ops",
            "3000000",
            "--warmup",
            "0",
            "--threads",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.kill().unwrap();
    server.wait().unwrap();
    let started = std::time::Instant::now();
    let out = bench.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the bench hung"
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("partial report: the server went away"),
        "{text}"
    );
    assert!(text.contains("connection lost"), "{text}");
    // No server at all.
    assert_one_line_error(&kith(&["bench", "--server", &addr]), "cannot connect to");
}

#[test]
fn bench_curve_writes_a_table_and_a_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("curve");
    let d = dir.to_str().unwrap();
    let o = kith(&[
        "bench",
        "--curve",
        d,
        "--sizes",
        "300,900",
        "--workload",
        "get",
        "--ops",
        "300",
        "--warmup",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = std::fs::read_to_string(dir.join("curve.md")).unwrap();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| persons"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].starts_with("| 300 |") && rows[1].starts_with("| 900 |"),
        "{table}"
    );
    let svg = std::fs::read_to_string(dir.join("curve.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("latency") && svg.contains("throughput"));
    // A second run reuses the banks.
    let o = kith(&[
        "bench",
        "--curve",
        d,
        "--sizes",
        "300",
        "--workload",
        "get",
        "--ops",
        "100",
        "--warmup",
        "0",
    ]);
    assert!(o.status.success());
    assert!(!stderr(&o).contains("generating"), "{}", stderr(&o));
    assert_one_line_error(&kith(&["bench", "--curve", d, "--sizes", "ten"]), "--sizes");
}

#[test]
fn upgrade_migrates_an_old_database_that_reads_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["conf", "db"] {
        std::fs::copy(Path::new("tests/fixtures/format-v3").join(f), dir.join(f)).unwrap();
    }
    let d = dir.to_str().unwrap();
    let o = kith(&["--db", d, "stats"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("older") && err.contains("upgrade"), "{err}");
    let o = kith(&["--db", d, "upgrade"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("from format 3 to 7"));
    let o = kith(&["--db", d, "upgrade"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to do"));
    assert!(kith(&["--db", d, "stats"]).status.success());
}

#[test]
fn a_generated_bank_skips_the_change_log_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, logged) in [(None, false), (Some("--change-log"), true)] {
        let dir = tmp.path().join(if logged { "logged" } else { "plain" });
        let d = dir.to_str().unwrap();
        let mut args = vec!["--db", d, "generate", "--persons", "5"];
        args.extend(flag);
        assert!(kith(&args).status.success());
        let o = kith(&["--db", d, "changes", "--count", "3"]);
        assert!(o.status.success());
        let lines = String::from_utf8_lossy(&o.stdout).lines().count();
        assert_eq!(lines > 0, logged, "{flag:?}: {lines} changes");
    }
}

#[test]
fn lookup_of_a_source_record_answers_its_customer() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("db");
    let d = d.to_str().unwrap();
    let events = tmp.path().join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"op":"upsert","system":"crm","key":"7","attrs":{"given_name":"Ann","family_name":"Lee","email":"ann@x.io"}}"#,
    )
    .unwrap();
    assert!(kith(&["--db", d, "apply", events.to_str().unwrap()])
        .status
        .success());
    let customer = kith(&["--db", d, "lookup", "crm", "7", "--json"]);
    assert!(customer.status.success());
    let c: serde_json::Value = serde_json::from_slice(&customer.stdout).unwrap();
    assert_eq!(c["kind"], "person", "{c}");
    assert!(String::from_utf8_lossy(&customer.stderr).contains("of customer"));
    let record = kith(&["--db", d, "lookup", "crm", "7", "--record", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&record.stdout).unwrap();
    assert_eq!(r["kind"], "source_record", "{r}");
    assert_ne!(r["id"], c["id"]);
}

#[test]
fn queries_given_a_record_id_answer_for_its_customer_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("db");
    let d = d.to_str().unwrap();
    let events = tmp.path().join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"op":"upsert","system":"crm","key":"7","attrs":{"given_name":"Ann","family_name":"Lee"}}"#,
    )
    .unwrap();
    assert!(kith(&["--db", d, "apply", events.to_str().unwrap()])
        .status
        .success());
    let rec = kith(&["--db", d, "lookup", "crm", "7", "--record", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    let rid = r["id"].to_string();
    for q in ["guarantors", "household", "context"] {
        let o = kith(&["--db", d, q, &rid]);
        assert!(
            o.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains("is a source record: answering for customer"),
            "{q}"
        );
    }
}

#[test]
fn owners_through_the_cli() {
    use kith::{attrs, Db, Decimal, EdgeProps, NewEntity, RelKind};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let (t, p) = {
        let db = Db::open(&dir).unwrap();
        let t = db.create(NewEntity::organization()).unwrap();
        let h = db.create(NewEntity::organization()).unwrap();
        let p = db.create(NewEntity::person()).unwrap();
        let share = |s: &str| {
            EdgeProps::new()
                .attr(attrs::SHARE, Decimal::parse(s).unwrap())
                .valid(kith::Date::parse("2020-01-01").ok(), None)
        };
        db.relate(t, RelKind::SUBSIDIARY_OF, h, share("0.8"))
            .unwrap();
        db.relate(p, RelKind::OWNS, h, share("0.5")).unwrap();
        (t, p)
    };
    let d = dir.to_str().unwrap();
    let o = kith(&[
        "--db",
        d,
        "owners",
        &t.to_string(),
        "--persons-only",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["owners"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["owners"][0]["id"], p.0);
    assert_eq!(v["owners"][0]["effective_share"]["$decimal"], "0.40");
    let o = kith(&[
        "--db",
        d,
        "owners",
        &t.to_string(),
        "--min-share",
        "50",
        "--persons-only",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("no owner holds 50%"));
    // The chain's holdings with their properties, as text and JSON.
    let ts = t.to_string();
    let o = kith(&["--db", d, "owners", &ts, "--persons-only"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("share=0.5") && text.contains("since=2020-01-01"),
        "{text}"
    );
    let o = kith(&["--db", d, "owners", &ts, "--json", "--min-share", "25%"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let person = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == p.0)
        .unwrap();
    assert_eq!(
        person["chain_props"][0]["attrs"]["share"]["$decimal"],
        "0.5"
    );
    // Dates: before the holdings began there are no owners, and no group.
    for q in ["owners", "group", "guarantors", "household"] {
        let o = kith(&["--db", d, q, &ts, "--json", "--until", "2019-12-31"]);
        assert!(
            o.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = kith(&["--db", d, "owners", &ts, "--json", "--at", "2019-06-01"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["owners"].as_array().unwrap().is_empty(), "{v}");
    let o = kith(&["--db", d, "group", &ts, "--json", "--since", "2020-01-01"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["members"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["members"][1]["owned_by"][0]["props"]["attrs"]["share"]["$decimal"],
        "0.8"
    );
    // Bad input: each names the option and the value.
    assert_one_line_error(
        &kith(&["--db", d, "owners", &ts, "--min-share", "abc"]),
        "--min-share \"abc\" is not a number of percent",
    );
    assert_one_line_error(
        &kith(&["--db", d, "owners", &ts, "--min-share=-5"]),
        "--min-share \"-5\" is negative",
    );
    assert_one_line_error(
        &kith(&["--db", d, "group", &ts, "--at", "noon"]),
        "--at \"noon\" is not a date",
    );
    assert_one_line_error(
        &kith(&[
            "--db",
            d,
            "path",
            &ts,
            &p.to_string(),
            "--since",
            "2022-01-01",
            "--until",
            "2021-01-01",
        ]),
        "--since 2022-01-01 is after --until 2021-01-01",
    );
}

#[test]
fn bench_lookup_accepts_customers_made_by_resolution() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("db");
    let d = d.to_str().unwrap();
    let events = tmp.path().join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"op":"upsert","system":"crm","key":"7","attrs":{"given_name":"Ann","family_name":"Lee"}}"#,
    )
    .unwrap();
    assert!(kith(&["--db", d, "apply", events.to_str().unwrap()])
        .status
        .success());
    let c = kith(&["--db", d, "lookup", "crm", "7", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    let ids = tmp.path().join("ids.txt");
    std::fs::write(&ids, format!("{}\n", v["id"])).unwrap();
    let o = kith(&[
        "--db",
        d,
        "bench",
        "--workload",
        "lookup",
        "--ids",
        ids.to_str().unwrap(),
        "--ops",
        "20",
        "--warmup",
        "0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 errors"));
}

/// Starts `kith serve` on `d` (extra flags in `more`) and waits until it
/// listens; returns the child, its address, and what it printed before.
fn serve(d: &str, more: &[&str]) -> (std::process::Child, String, Vec<String>) {
    let mut args = vec!["--db", d, "serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(more);
    let mut server = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let mut before = Vec::new();
    loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "the server stopped"
        );
        if line.contains("serving") {
            break;
        }
        before.push(line.clone());
    }
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    // Keep draining its stderr so that the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let file = Path::new(d).join("kith.server");
    for _ in 0..200 {
        if std::fs::read_to_string(&file).is_ok_and(|t| t.trim() == addr) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (server, addr, before)
}

fn stop(mut server: std::process::Child) {
    // SIGTERM, as an operator stops it (no `kill` binary needed).
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    assert!(server.wait().unwrap().success());
}

#[test]
fn read_commands_work_while_a_server_holds_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let key = kith::generate::core_key(0);
    let reads: Vec<Vec<&str>> = vec![
        vec!["stats"],
        vec!["context", "1"],
        vec!["context", "1", "--json", "--interactions", "3"],
        vec!["get", "2", "--json"],
        vec!["lookup", "core_banking", &key],
        vec!["household", "1", "--json"],
        vec!["guarantors", "1", "--at", "2024-01-01"],
        vec!["group", "1"],
        vec!["connected", "1", "--depth", "2"],
        vec!["check"],
        vec!["get", "999999"],
        vec!["group", "1", "--at", "noon"],
    ];
    let run = |extra: &[&str], r: &[&str]| {
        let mut args = vec!["--db", d.as_str()];
        args.extend_from_slice(extra);
        args.extend_from_slice(r);
        kith(&args)
    };
    let local: Vec<Output> = reads.iter().map(|r| run(&[], r)).collect();
    let (server, addr, _) = serve(&d, &[]);
    // A write still refuses: one process writes a database.
    let w = kith(&["--db", &d, "generate", "--persons", "5"]);
    assert!(!w.status.success());
    assert!(stderr(&w).contains("in use"), "{}", stderr(&w));
    for (r, want) in reads.iter().zip(&local) {
        for extra in [vec![], vec!["--server", addr.as_str()]] {
            let got = run(&extra, r);
            assert_eq!(
                got.status.code(),
                want.status.code(),
                "{r:?} {extra:?}: {}",
                stderr(&got)
            );
            assert_eq!(stdout(&got), stdout(want), "{r:?} {extra:?}");
            assert_eq!(stderr(&got), stderr(want), "{r:?} {extra:?}");
        }
    }
    // KITH.CLI runs reads only, and only for the database the server holds.
    let mut c = kith::client::Client::connect(addr.as_str()).unwrap();
    for (args, want) in [
        (vec!["KITH.CLI", "generate"], "not a read command"),
        (
            vec!["KITH.CLI", "DB", "/elsewhere", "stats"],
            "not /elsewhere",
        ),
    ] {
        let wire: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match c.command(&wire) {
            Err(kith::client::ClientError::Server { message, .. }) => {
                assert!(message.contains(want), "{message}")
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    drop(c);
    // `changes --follow` finds the server by the same file.
    let o = kith(&["--db", &d, "changes"]);
    assert!(stderr(&o).contains("--follow"), "{}", stderr(&o));
    stop(server);
    assert!(
        !Path::new(&d).join("kith.server").exists(),
        "the file goes with the server"
    );

    // With a password, the command line gives KITH_PASSWORD.
    let (server, _, _) = serve(&d, &["--requirepass", "s3cret"]);
    let o = kith(&["--db", &d, "stats"]);
    assert_one_line_error(&o, "set KITH_PASSWORD");
    let o = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["--db", &d, "stats"])
        .env("KITH_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), stdout(&local[0]));
    // A server killed outright leaves its file behind: reads open the
    // database themselves again.
    let mut server = server;
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(Path::new(&d).join("kith.server").exists());
    let again = kith(&["--db", &d, "stats"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&local[0]));
}

#[test]
fn a_cache_size_that_does_not_fit_is_an_error_naming_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("db");
    let d = d.to_str().unwrap();
    for (args, option) in [
        (
            vec!["serve", "--reply-cache-mib", "99999999999999999"],
            "--reply-cache-mib",
        ),
        (
            vec!["serve", "--cache-mib", "99999999999999999"],
            "--cache-mib",
        ),
        (
            vec!["generate", "--cache-mib", "99999999999999999"],
            "--cache-mib",
        ),
    ] {
        let mut all = vec!["--db", d];
        all.extend(args);
        assert_one_line_error(
            &kith(&all),
            &format!("{option} 99999999999999999 is too large"),
        );
    }
    assert!(!Path::new(d).join("kith.server").exists());
}

#[test]
fn rules_through_the_command_and_through_a_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    // A customer of the generated bank: platinum, with a banker.
    let ann = {
        let db = kith::Db::open(&d).unwrap();
        let kind = db.register_relationship_kind("MANAGED_BY").unwrap();
        let ann = db
            .create(kith::NewEntity::person().attr(kith::attrs::TIER, "platinum"))
            .unwrap();
        let bob = db.create(kith::NewEntity::person()).unwrap();
        db.relate(ann, kind, bob, kith::EdgeProps::new()).unwrap();
        ann.0.to_string()
    };
    let file = "docs/rules/large-withdrawal.toml";
    let o = kith(&["--db", &d, "rules", "load", file]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("loaded 1 rule(s)"), "{}", stdout(&o));
    // A broken file: refused whole, every error, exit code 1, nothing stored.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"a\"\non = [\"nope\"]\nwhen = 'true'\n\n[[rule]]\nname = \"b\"\non = [\"customer.changed\"]\nwhen = 'customer.nosuch'\n",
    )
    .unwrap();
    let o = kith(&["--db", &d, "rules", "load", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("2 error(s), nothing loaded"), "{err}");
    assert!(
        err.contains("rule \"a\" (line 1)") && err.contains("rule \"b\" (line 6)"),
        "{err}"
    );
    let o = kith(&["--db", &d, "rules", "list"]);
    assert!(
        stdout(&o).contains("platinum-large-withdrawal"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("\na "), "{}", stdout(&o));
    // A dry run changes nothing.
    let event = r#"{"after":{"interaction_type":"withdrawal","amount":20000.0}}"#;
    let o = kith(&[
        "--db",
        &d,
        "rules",
        "test",
        "--customer",
        &ann,
        "--event",
        event,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("FIRES because customer.tier = platinum"),
        "{}",
        stdout(&o)
    );
    let o = kith(&["--db", &d, "rules", "actions"]);
    assert_eq!(stdout(&o), "", "a dry run raised an action");
    // Bad input: one clear line and exit code 1, nothing stored.
    for (args, needle) in [
        (
            vec!["rules", "test", "--customer", "99999999"],
            "no customer",
        ),
        (
            vec!["rules", "test", "--customer", &ann, "--event", "{oops"],
            "--event is not JSON",
        ),
        (
            vec!["rules", "test", "--customer", &ann, "--event", "[1]"],
            "not a JSON object",
        ),
        (vec!["rules", "actions", "--from", "yesterday"], "--from"),
        (vec!["rules", "delete", "no-such-rule"], "no rule named"),
        (
            vec!["rules", "load", "/no/such/file.toml"],
            "cannot read rules file",
        ),
    ] {
        let mut all = vec!["--db", d.as_str()];
        all.extend(args);
        assert_one_line_error(&kith(&all), needle);
    }
    let o = kith(&["--db", &d, "rules", "list"]);
    assert_eq!(
        stdout(&o).lines().filter(|l| !l.starts_with(' ')).count(),
        1
    );
    // A writing command lets the rules act before it exits; reads run none,
    // so `check` sees a quiet database.
    let calls = tmp.path().join("calls.toml");
    std::fs::write(
        &calls,
        "[[rule]]\nname = \"complaint\"\non = [\"interaction.added\"]\nwhen = 'event.after.interaction_type == \"complaint\"'\n",
    )
    .unwrap();
    assert!(
        kith(&["--db", &d, "rules", "load", calls.to_str().unwrap()])
            .status
            .success()
    );
    let o = kith(&[
        "--db",
        &d,
        "interact",
        &ann,
        "--channel",
        "call",
        "--type",
        "complaint",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kith(&["--db", &d, "rules", "actions"]);
    assert!(
        stdout(&o).contains("rule complaint for customer"),
        "{}",
        stdout(&o)
    );
    let o = kith(&["--db", &d, "rules", "stats"]);
    assert!(stdout(&o).contains("this one runs none"), "{}", stdout(&o));
    assert!(kith(&["--db", &d, "rules", "delete", "complaint"])
        .status
        .success());
    let o = kith(&["--db", &d, "check"]);
    assert!(o.status.success(), "{}", stdout(&o));
    // Through a running server: the withdrawal goes over the wire, the
    // command line reads the action and the stats from the server.
    let (server, addr, _) = serve(&d, &[]);
    let mut c = kith::client::Client::connect(addr.as_str()).unwrap();
    c.command(&[
        b"INTERACTION.ADD",
        ann.as_bytes(),
        br#"{"attrs":{"interaction_type":"withdrawal","amount":{"$decimal":"12500"}}}"#,
    ])
    .unwrap();
    let mut seen = String::new();
    for _ in 0..100 {
        seen = stdout(&kith(&["--db", &d, "rules", "actions"]));
        if seen.contains("platinum") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        seen.contains("rule platinum-large-withdrawal for customer"),
        "{seen}"
    );
    assert!(seen.contains("did: task"), "{seen}");
    let o = kith(&["--db", &d, "rules", "stats"]);
    assert!(stdout(&o).contains("1 fires"), "{}", stdout(&o));
    let o = kith(&["--db", &d, "rules", "actions"]);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    stop(server);
}

/// The address in a line ending `… http://ADDR/`.
fn page_addr(line: &str) -> std::net::SocketAddr {
    line.trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn serve_with_http_serves_the_page_with_the_same_password() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let (server, _, before) = serve(&d, &["--http", "127.0.0.1:0", "--requirepass", "pw"]);
    let line = before
        .iter()
        .find(|l| l.contains("customer page"))
        .unwrap_or_else(|| panic!("{before:?}"));
    let addr = page_addr(line);
    assert_eq!(
        common::http(addr, "GET", "/api/party/1", &[], b"").status,
        401
    );
    let r = common::http(
        addr,
        "GET",
        "/api/party/1",
        &[("Authorization", "Bearer pw")],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], 1);
    stop(server);
}

#[test]
fn ui_serves_a_local_database_until_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let d = generated(tmp.path());
    let mut ui = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["--db", &d, "ui", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(ui.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("customer page") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "ui stopped"
        );
    }
    let addr = page_addr(&line);
    let page = common::http(addr, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("customer 360"));
    let found = common::http(addr, "GET", "/api/search?q=1", &[], b"").json();
    assert_eq!(found["results"][0]["id"], 1, "{found}");
    assert_eq!(unsafe { libc::kill(ui.id() as i32, libc::SIGTERM) }, 0);
    assert!(ui.wait().unwrap().success());
    // A database that is not there is an error, not a new empty one.
    let o = kith(&[
        "--db",
        &format!("{d}-missing"),
        "ui",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
