//! `kith import` and `kith export links`, as a user runs them.
#![cfg(feature = "cli")] // needs the `kith` command / the server

use std::process::Command;

fn kith(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(args)
        .output()
        .unwrap()
}

const MAPPING: &str = r#"
system = "crm"
kind = "person"
key = "id"
dates = ["birth_date"]
date_formats = ["iso", "eu"]

[columns]
given_name = "first"
family_name = "last"
birth_date = "dob"
email = "email"
"#;

#[test]
fn import_rejects_bad_rows_keeps_good_ones_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("map.toml"), MAPPING).unwrap();
    let mut csv = b"id,first,last,dob,email\n".to_vec();
    csv.extend_from_slice(b"1,Robert,Smith,1970-03-04,bob@x.io\n");
    csv.extend_from_slice(b"2,Bob,Smith,04/03/1970,BOB@x.io\n");
    csv.extend_from_slice(b"3,Ann,Lee,1970-13-45,ann@x.io\n"); // bad date
    csv.extend_from_slice(b",Tom,Lee,1980-01-01,tom@x.io\n"); // missing key
    csv.extend_from_slice(b"5,Eve,Lee\n"); // wrong column count
    csv.extend_from_slice(b"6,J\xffrg,Lee,1980-01-01,j@x.io\n"); // invalid UTF-8
    csv.extend_from_slice(b"7,Ann,Lee,1980-02-02,ann.lee@y.io\n");
    std::fs::write(p("people.csv"), &csv).unwrap();
    let db = p("db");
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("map.toml"),
        "--rejects",
        &p("rejects.csv"),
        &p("people.csv"),
    ]);
    // Rows were rejected: the exit code says so (unless --max-rejects allows them).
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("4 rows rejected"));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("rows 7;"), "{out}");
    assert!(out.contains("records created 2"), "{out}");
    assert!(out.contains("linked to an existing customer 1"), "{out}");
    assert!(out.contains("rejected 4"), "{out}");
    let rejects = std::fs::read_to_string(p("rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "file,line,reason");
    assert_eq!(lines.len(), 5, "{rejects}");
    assert!(
        lines[1].contains(",4,") && lines[1].contains("not a date"),
        "{rejects}"
    );
    assert!(
        lines[2].contains(",5,") && lines[2].contains("missing key"),
        "{rejects}"
    );
    assert!(
        lines[3].contains(",6,") && lines[3].contains("expected 5 columns, found 3"),
        "{rejects}"
    );
    assert!(
        lines[4].contains(",7,") && lines[4].contains("not valid UTF-8"),
        "{rejects}"
    );

    let links = kith(&["--db", &db, "export", "links"]);
    let text = String::from_utf8_lossy(&links.stdout).to_string();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "system,key,customer_id");
    assert_eq!(rows.len(), 4, "{text}");
    let cust = |k: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("crm,{k},")))
            .unwrap()
            .rsplit(',')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        cust("1"),
        cust("2"),
        "Bob and Robert Smith are one customer"
    );
    assert_ne!(cust("1"), cust("7"));

    // The same file again changes nothing.
    let stats = |db: &str| {
        String::from_utf8_lossy(&kith(&["--db", db, "stats", "--json"]).stdout).to_string()
    };
    let before = stats(&db);
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("map.toml"),
        "--rejects",
        &p("rejects2.csv"),
        &p("people.csv"),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("unchanged 3"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let after = stats(&db);
    let counts =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["entities"].clone();
    assert_eq!(counts(&before), counts(&after));
    let o = kith(&["--db", &db, "check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn mapping_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("people.csv"), "id,first\n1,Ann\n").unwrap();
    std::fs::write(
        p("bad.toml"),
        "system = \"crm\"\nkey = \"id\"\nshoe = 1\n[columns]\n",
    )
    .unwrap();
    let o = kith(&[
        "--db",
        &p("db"),
        "import",
        "--mapping",
        &p("bad.toml"),
        &p("people.csv"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.toml") && e.contains("shoe"), "{e}");
    std::fs::write(
        p("nocol.toml"),
        "system = \"crm\"\nkey = \"id\"\n[columns]\ngiven_name = \"first_name\"\n",
    )
    .unwrap();
    let o = kith(&[
        "--db",
        &p("db2"),
        "import",
        "--mapping",
        &p("nocol.toml"),
        &p("people.csv"),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("no column \"first_name\""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn apply_runs_upserts_and_deletes_and_reports_bad_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let events = r#"{"op":"upsert","system":"crm","key":"1","kind":"person","attrs":{"given_name":"Ann","family_name":"Lee","email":"ann@x.io"}}
{"op":"upsert","system":"web","key":"u1","attrs":{"email":"ANN@x.io"}}
not json
{"op":"delete","system":"crm","key":"1"}
{"op":"explode","system":"crm","key":"2"}
"#;
    std::fs::write(p("events.jsonl"), events).unwrap();
    let o = kith(&["--db", &p("db"), "apply", &p("events.jsonl")]);
    assert_eq!(o.status.code(), Some(1), "bad lines make the exit code 1");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("upserts 2; deletes 1; overrides 0; rejected 2"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("events.jsonl:3: not JSON"), "{err}");
    assert!(
        err.contains("events.jsonl:5: op must be upsert, delete, same or apart"),
        "{err}"
    );
    let links =
        String::from_utf8_lossy(&kith(&["--db", &p("db"), "export", "links"]).stdout).to_string();
    assert_eq!(links.lines().count(), 2, "{links}");
    assert!(links.contains("web,u1,"));
    let o = kith(&["--db", &p("db"), "explain", "web", "u1"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("belongs to customer"));
}

#[test]
fn interactions_import_through_a_mapping_onto_the_customer() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("map.toml"), MAPPING).unwrap();
    std::fs::write(
        p("people.csv"),
        "id,first,last,dob,email\n1,Ann,Lee,1980-01-01,ann@x.io\n",
    )
    .unwrap();
    let db = p("db");
    assert!(kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("map.toml"),
        "--rejects",
        &p("r1.csv"),
        &p("people.csv")
    ])
    .status
    .success());
    std::fs::write(
        p("calls.toml"),
        r#"
system = "contact_centre"
kind = "interaction"
key = "call_id"
party_system = "crm"
party_key = "customer"
timestamps = ["occurred_at"]
[columns]
channel = "channel"
interaction_type = "type"
status = "status"
occurred_at = "at"
"#,
    )
    .unwrap();
    std::fs::write(
        p("calls.csv"),
        "call_id,customer,channel,type,status,at\nK1,1,call,dispute,open,2026-01-02T10:00:00Z\nK2,1,call,inquiry,closed,2026-01-01\nK3,99,call,inquiry,closed,2026-01-01T00:00:00Z\nK4,1,call,x,open,noon\n",
    )
    .unwrap();
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("calls.toml"),
        "--rejects",
        &p("r2.csv"),
        "--max-rejects",
        "2",
        &p("calls.csv"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("interactions 2") && out.contains("rejected 2"),
        "{out}"
    );
    let rejects = std::fs::read_to_string(p("r2.csv")).unwrap();
    assert!(rejects.contains("unknown party crm:99"), "{rejects}");
    assert!(rejects.contains("not a timestamp"), "{rejects}");
    let links =
        String::from_utf8_lossy(&kith(&["--db", &db, "export", "links"]).stdout).to_string();
    let customer = links
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .to_string();
    let o = kith(&["--db", &db, "context", &customer, "--json"]);
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let recent = c["recent_interactions"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(
        recent[0]["attrs"]["interaction_type"], "dispute",
        "newest first"
    );
    assert_eq!(c["open_items"][0]["what"], "open dispute");
    // Importing the calls again changes nothing.
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("calls.toml"),
        "--rejects",
        &p("r3.csv"),
        &p("calls.csv"),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("unchanged 2"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = kith(&["--db", &db, "context", &customer, "--json"]);
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["recent_interactions"].as_array().unwrap().len(), 2);
}
