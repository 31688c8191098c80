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
{"op":"delete","system":"crm","key":"never-there"}
"#;
    std::fs::write(p("events.jsonl"), events).unwrap();
    let o = kith(&["--db", &p("db"), "apply", &p("events.jsonl")]);
    assert_eq!(o.status.code(), Some(1), "bad lines make the exit code 1");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "upserts 2; deletes 1 (1 not found: nothing to delete); overrides 0; rejected 2"
        ),
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

/// Runs `kith import` of `files` (written into a temporary directory) with
/// `mapping`; returns the output and the rejects file's rows.
fn import_files(
    mapping: &str,
    files: &[(&str, &[u8])],
    more: &[&str],
) -> (std::process::Output, Vec<String>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("map.toml"), mapping).unwrap();
    let db = p("db");
    let rejects = p("rejects.csv");
    let mut args = vec!["--db", &db, "import", "--mapping"];
    let map = p("map.toml");
    args.push(&map);
    args.extend(["--rejects", &rejects]);
    args.extend_from_slice(more);
    let paths: Vec<String> = files
        .iter()
        .map(|(name, body)| {
            std::fs::write(p(name), body).unwrap();
            p(name)
        })
        .collect();
    args.extend(paths.iter().map(String::as_str));
    let o = kith(&args);
    let rows = std::fs::read_to_string(&rejects)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    (o, rows, tmp)
}

/// The import failed (exit code 1) for exactly one rejected row: at `line`,
/// for a reason that says `why`.
fn one_reject(o: &std::process::Output, rejects: &[String], line: u64, why: &str) {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(
        rejects[0].contains(&format!(",{line},")) && rejects[0].contains(why),
        "{rejects:?}"
    );
}

#[test]
fn split_names_fill_name_columns_that_are_empty() {
    let mapping = r#"
system = "crm"
kind = "person"
key = "id"
[split_name]
column = "name"
[columns]
given_name = "first"
family_name = "last"
"#;
    let csv = b"id,name,first,last\n1,\"Lee, Ann Marie\",,\n2,Bob Jones,Robert,\n";
    let (o, rejects, tmp) = import_files(mapping, &[("p.csv", csv)], &[]);
    assert!(
        o.status.success(),
        "{} {rejects:?}",
        String::from_utf8_lossy(&o.stderr)
    );
    let db = tmp.path().join("db");
    let one = kith(&[
        "--db",
        db.to_str().unwrap(),
        "lookup",
        "crm",
        "1",
        "--record",
        "--json",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    let attrs = &j["attrs"];
    assert_eq!(attrs["given_name"], "Ann", "{j}");
    assert_eq!(attrs["middle_name"], "Marie", "{j}");
    assert_eq!(attrs["family_name"], "Lee", "{j}");
    // A mapped column with a value wins over the split; an empty one does not.
    let two = kith(&[
        "--db",
        db.to_str().unwrap(),
        "lookup",
        "crm",
        "2",
        "--record",
        "--json",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&two.stdout).unwrap();
    assert_eq!(j["attrs"]["given_name"], "Robert", "{j}");
    assert_eq!(j["attrs"]["family_name"], "Jones", "{j}");
}

#[test]
fn split_addresses_fill_address_columns_that_are_empty() {
    let mapping = r#"
system = "crm"
kind = "person"
key = "id"
[split_address]
column = "address"
[columns]
given_name = "first"
family_name = "last"
postal_code = "zip"
"#;
    let csv = b"id,first,last,address,zip\n\
1,Ann,Lee,\"12 Main St Apt 4, Springfield, IL 62704\",\n\
2,Bo,Chan,\"Unit 3/45 George Street, Sydney NSW 2000\",2001\n";
    let (o, rejects, tmp) = import_files(mapping, &[("p.csv", csv)], &[]);
    assert!(
        o.status.success(),
        "{} {rejects:?}",
        String::from_utf8_lossy(&o.stderr)
    );
    let db = tmp.path().join("db");
    let record = |key: &str| {
        let o = kith(&[
            "--db",
            db.to_str().unwrap(),
            "lookup",
            "crm",
            key,
            "--record",
            "--json",
        ]);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        j["attrs"].clone()
    };
    let a = record("1");
    for (attr, want) in [
        ("house_number", "12"),
        ("street", "Main St"),
        ("unit", "Apt 4"),
        ("city", "Springfield"),
        ("region", "IL"),
        ("postal_code", "62704"),
    ] {
        assert_eq!(a[attr], want, "{attr}: {a}");
    }
    // A mapped column with a value wins over the split.
    let b = record("2");
    assert_eq!(b["postal_code"], "2001", "{b}");
    assert_eq!(b["house_number"], "45", "{b}");
    assert_eq!(b["unit"], "Unit 3", "{b}");
    assert_eq!(b["city"], "Sydney", "{b}");
    // A misspelt option is refused before anything is imported.
    let bad = mapping.replace("column = \"address\"", "colum = \"address\"");
    let (o, _, _) = import_files(&bad, &[("p.csv", csv)], &[]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("colum") && e.contains("column"), "{e}");
}

#[test]
fn crlf_lines_and_unclosed_quotes_are_rejected_at_the_right_line() {
    // CRLF: the bad date is on line 3.
    let csv = b"id,first,last,dob,email\r\n1,Ann,Lee,1970-01-02,a@x.io\r\n2,Bob,Ray,1970-13-45,b@x.io\r\n3,Cy,Day,1980-01-01,c@x.io\r\n";
    let (o, rejects, _t) = import_files(MAPPING, &[("crlf.csv", csv)], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].contains(",3,"), "{rejects:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("rows 3;"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // An unclosed quote on line 3 loses that row, not the ones after it.
    let csv = b"id,first,last,dob,email\n1,Ann,Lee,1970-01-02,a@x.io\n2,\"Bob,Ray,1970-01-03,b@x.io\n3,Cy,Day,1980-01-01,c@x.io\n4,Di,Fox,1981-01-01,d@x.io\n";
    let (o, rejects, t) = import_files(MAPPING, &[("quote.csv", csv)], &[]);
    one_reject(&o, &rejects, 3, "quote");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("rows 4;") && out.contains("records created 3"),
        "{out}"
    );
    let db = t.path().join("db");
    for key in ["1", "3", "4"] {
        let found = kith(&[
            "--db",
            db.to_str().unwrap(),
            "lookup",
            "crm",
            key,
            "--record",
        ]);
        assert!(
            found.status.success(),
            "record {key} was lost: {}",
            String::from_utf8_lossy(&found.stderr)
        );
    }
}

#[test]
fn import_input_problems_are_found_before_anything_is_imported() {
    // Every row rejected: the exit code says so even when rejects are allowed.
    let csv = b"id,first,last,dob,email\n1,Ann,Lee,1970-13-01,a@x.io\n2,Bo,Ray,1970-14-01,b@x.io\n";
    let (o, rejects, _t) = import_files(MAPPING, &[("bad.csv", csv)], &["--max-rejects", "10"]);
    assert_eq!(rejects.len(), 2);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("every row"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // An empty file says so.
    let (o, _, _t) = import_files(MAPPING, &[("empty.csv", b"")], &[]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("empty.csv") && e.contains("is empty"), "{e}");
    // A second file missing a column stops the import before the first is read.
    let good = b"id,first,last,dob,email\n1,Ann,Lee,1970-01-02,a@x.io\n";
    let bad = b"id,first,last,dob\n2,Bo,Ray,1970-01-03\n";
    let (o, _, t) = import_files(MAPPING, &[("a.csv", good), ("b.csv", bad)], &[]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("b.csv") && e.contains("email"), "{e}");
    let db = t.path().join("db");
    let stats = kith(&["--db", db.to_str().unwrap(), "stats", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap_or_default();
    assert!(
        j["entities"]["source_record"].is_null() || j["entities"]["source_record"] == 0,
        "a.csv was imported: {j}"
    );
}

#[test]
fn rejects_go_beside_the_database_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(p("map.toml"), MAPPING).unwrap();
    std::fs::write(
        p("x.csv"),
        b"id,first,last,dob,email\n1,Ann,Lee,1970-13-01,a@x.io\n",
    )
    .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kith"))
        .current_dir(cwd.path())
        .args([
            "--db",
            &p("db"),
            "import",
            "--mapping",
            &p("map.toml"),
            &p("x.csv"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "wrote into the current directory"
    );
    let beside = std::fs::read_to_string(p("db.rejects.csv")).unwrap();
    assert!(beside.contains("x.csv,2,"), "{beside}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("db.rejects.csv"));
}

#[test]
fn explain_with_says_what_keeps_two_records_apart() {
    let mapping = r#"
system = "crm"
kind = "person"
key = "id"
dates = ["birth_date"]
[columns]
given_name = "first"
family_name = "last"
birth_date = "dob"
email = "email"
national_id = "nid"
phone = "phone"
house_number = "no"
street = "street"
city = "city"
postal_code = "zip"
"#;
    let csv = b"id,first,last,dob,email,nid,phone,no,street,city,zip\n\
1,John,Smith,1961-03-04,the.smiths@example.com,111-22-3333,+1 555 010 2000,12,Elm Road,Springfield,62701\n\
2,Mary,Smith,1964-11-23,the.smiths@example.com,444-55-6666,+1 555 010 2000,12,Elm Road,Springfield,62701\n\
3,Jon,Smith,1961-03-04,jsmith@work.example,111-22-3333,,,,,\n\
4,Zed,Quinn,1990-01-01,zed@example.com,999-88-7777,,,,,\n";
    let (o, _, t) = import_files(mapping, &[("fam.csv", csv)], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = t.path().join("db");
    let db = db.to_str().unwrap();
    let explain = |a: &str, b: &str| {
        let o = kith(&["--db", db, "explain", "crm", a, "--with", "crm", b]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap()
            .to_string()
    };
    let family = explain("1", "2");
    assert!(family.contains("national_id veto"), "{family}");
    // Under a mapping's own rules: without vetoes the pair is only scored.
    let under = |mapping: &std::path::Path| {
        kith(&[
            "--db",
            db,
            "explain",
            "crm",
            "1",
            "--with",
            "crm",
            "2",
            "--mapping",
            mapping.to_str().unwrap(),
        ])
    };
    let lenient = t.path().join("lenient.toml");
    std::fs::write(&lenient, format!("{mapping}\n[resolution]\nvetoes = []\n")).unwrap();
    let o = under(&lenient);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("veto"), "{out}");
    let o = under(&t.path().join("missing.toml"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.toml"));
    assert!(
        explain("1", "3").ends_with("one customer"),
        "{}",
        explain("1", "3")
    );
    assert!(
        explain("1", "4").contains("below the match threshold"),
        "{}",
        explain("1", "4")
    );
    let o = kith(&["--db", db, "apart", "crm", "1", "crm", "3"]);
    assert!(o.status.success());
    assert!(
        explain("1", "3").contains("a user decided they are not the same"),
        "{}",
        explain("1", "3")
    );
    let o = kith(&["--db", db, "same", "crm", "1", "crm", "3"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("replaces"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        explain("1", "3").contains("a user decided they are the same"),
        "{}",
        explain("1", "3")
    );
}

#[test]
fn evaluate_scores_pairs_and_lists_false_merges_and_splits() {
    let csv = b"id,first,last,dob,email\n1,Ann,Lee,1970-01-02,ann@x.io\n2,Ann,Lee,1970-01-02,ann@x.io\n3,Bob,Ray,1971-05-06,bob@x.io\n4,Cy,Day,1980-01-01,cy@x.io\n";
    let (o, _, t) = import_files(MAPPING, &[("p.csv", csv)], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let db = t.path().join("db");
    let db = db.to_str().unwrap();
    let truth = t.path().join("truth.csv");
    let run = |rows: &str| {
        std::fs::write(&truth, format!("entity_id,system,key\n{rows}")).unwrap();
        kith(&["--db", db, "evaluate", "--truth", truth.to_str().unwrap()])
    };
    // The truth the import got right.
    let o = run("a,crm,1\na,crm,2\nb,crm,3\nc,crm,4\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("predicted pairs 1; true pairs 1; true positives 1; precision 1.0000; recall 1.0000; F1 1.0000"), "{out}");
    // A truth that says 1 and 2 are two people, and 3 and 4 one.
    let o = run("a,crm,1\nz,crm,2\nb,crm,3\nb,crm,4\n");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("false merges: 1 pairs") && out.contains("crm:1 [Ann | Lee | 1970-01-02"),
        "{out}"
    );
    assert!(
        out.contains("false splits: 1 pairs") && out.contains("crm:3 (customer"),
        "{out}"
    );
    assert!(out.contains("F1 0.0000"), "{out}");
    // A record the database does not hold is left out, and the exit code says so.
    let o = run("a,crm,1\na,crm,2\nq,crm,999\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("crm:999"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Nothing to review here.
    let o = kith(&["--db", db, "review"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 possible matches await review"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A truth file without the columns says which it needs.
    std::fs::write(&truth, "id,sys,k\n1,crm,1\n").unwrap();
    let o = kith(&["--db", db, "evaluate", "--truth", truth.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("entity_id,system,key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// FEBRL's first set, beside the checkout.
const FEBRL1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/febrl/febrl1.csv"
);
const FEBRL_MAPPING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/febrl/febrl.toml");

#[test]
fn a_bulk_load_gives_the_customers_of_a_record_at_a_time_import_on_every_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let links = |db: &str| {
        let o = kith(&["--db", db, "export", "links"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut lines: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let online = dir("online");
    let o = kith(&[
        "--db",
        &online,
        "import",
        "--mapping",
        FEBRL_MAPPING,
        FEBRL1,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = links(&online);
    assert_eq!(want.len(), 1_001, "a header and 1,000 records");
    for engine in ["sled", "fjall", "redb"] {
        let bulk = dir(&format!("bulk-{engine}"));
        let o = kith(&[
            "--db",
            &bulk,
            "--engine",
            engine,
            "import",
            "--bulk",
            "--mapping",
            FEBRL_MAPPING,
            FEBRL1,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("resolved in memory") && err.contains("no violations"),
            "{err}"
        );
        // The same records in the same customers (with the same ids).
        assert_eq!(links(&bulk), want, "{engine}");
        let o = kith(&["--db", &bulk, "stats", "--json"]);
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(s["engine"], engine);
        assert_eq!(s["entities"]["source_record"], 1_000);
        // Its change log starts empty; the ordinary import's holds the load.
        let log = |db: &str| {
            let o = kith(&["--db", db, "changes", "--json"]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap().lines().count()
        };
        assert_eq!(log(&bulk), 0, "{engine}");
        assert!(log(&online) > 1_000);
        // A second bulk load into it is refused, and it is left whole.
        let o = kith(&[
            "--db",
            &bulk,
            "import",
            "--bulk",
            "--mapping",
            FEBRL_MAPPING,
            FEBRL1,
        ]);
        assert_eq!(o.status.code(), Some(1));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("not empty") && e.contains("without --bulk"),
            "{e}"
        );
        assert_eq!(links(&bulk), want, "{engine}");
        // Importing the same file again the ordinary way changes nothing.
        let o = kith(&["--db", &bulk, "import", "--mapping", FEBRL_MAPPING, FEBRL1]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("records created 0") && out.contains("unchanged 1000"),
            "{out}"
        );
    }
}

#[test]
fn a_bulk_load_of_generated_messy_records_gives_the_same_customers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let o = kith(&[
        "generate-records",
        "--records",
        "3000",
        "--messy",
        "--out",
        &p("r.csv"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mapping = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/records/messy.toml");
    let o = kith(&[
        "--db",
        &p("online"),
        "import",
        "--mapping",
        mapping,
        &p("r.csv"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kith(&[
        "--db",
        &p("bulk"),
        "--engine",
        "fjall",
        "import",
        "--bulk",
        "--mapping",
        mapping,
        &p("r.csv"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let links = |db: &str| {
        let mut l: Vec<String> = String::from_utf8(kith(&["--db", db, "export", "links"]).stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        l.sort();
        l
    };
    let want = links(&p("online"));
    assert_eq!(want.len(), 3_001);
    assert_eq!(links(&p("bulk")), want);
}

#[test]
fn a_bulk_load_cut_off_while_writing_is_never_opened_and_runs_again() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let d = db.to_str().unwrap();
    let bulk = || {
        kith(&[
            "--db",
            d,
            "import",
            "--bulk",
            "--mapping",
            FEBRL_MAPPING,
            FEBRL1,
        ])
    };
    // As a kill while writing leaves it: some rows, and the marker.
    let o = bulk();
    assert!(o.status.success());
    std::fs::write(db.join("COPYING"), "").unwrap();
    let o = kith(&["--db", d, "stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unfinished"));
    let o = kith(&["--db", d, "import", "--mapping", FEBRL_MAPPING, FEBRL1]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an ordinary import refuses it too"
    );
    // Running the bulk load again finishes it: nothing doubled.
    let o = bulk();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kith(&["--db", d, "stats", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["entities"]["source_record"], 1_000);
    assert!(kith(&["--db", d, "check"]).status.success());
}

/// The customers a CSV file gives (`kith import`, then `kith export
/// links`), as sets of `(system, key)`.
fn customers_of(
    dir: &std::path::Path,
    tag: &str,
    mapping: &str,
    csv: &std::path::Path,
) -> std::collections::BTreeSet<std::collections::BTreeSet<(String, String)>> {
    let db = dir.join(format!("db-{tag}"));
    let db = db.to_str().unwrap();
    let o = kith(&[
        "--db",
        db,
        "import",
        "--mapping",
        mapping,
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kith(&["--db", db, "export", "links"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_reader(&o.stdout[..]);
    let mut groups: std::collections::BTreeMap<
        String,
        std::collections::BTreeSet<(String, String)>,
    > = Default::default();
    for row in rdr.records() {
        let row = row.unwrap();
        groups
            .entry(row[2].to_string())
            .or_default()
            .insert((row[0].to_string(), row[1].to_string()));
    }
    groups.into_values().collect()
}

/// Generated messy records (shared family and role mailboxes, household
/// phones, twins, care homes, mistyped ids, former names) imported in their
/// own order and in `shuffles` other orders give the same customers.
fn messy_records_in_other_orders(records: u64, shuffles: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("messy.csv");
    let o = kith(&[
        "generate-records",
        "--messy",
        "--records",
        &records.to_string(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mapping = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/records/messy.toml");
    let original = customers_of(tmp.path(), "0", mapping, &file);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    for seed in 1..=shuffles {
        let mut shuffled = rows.clone();
        let mut r = kith::generate::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, r.below(i as u64 + 1) as usize);
        }
        let path = tmp.path().join(format!("shuffled-{seed}.csv"));
        std::fs::write(&path, format!("{header}\n{}\n", shuffled.join("\n"))).unwrap();
        let got = customers_of(tmp.path(), &seed.to_string(), mapping, &path);
        let moved: Vec<_> = got.symmetric_difference(&original).take(4).collect();
        assert!(
            moved.is_empty(),
            "order {seed} gave other customers: {moved:?}"
        );
    }
}

#[test]
fn messy_generated_records_in_two_other_orders_give_the_same_customers() {
    messy_records_in_other_orders(2_000, 2);
}

#[test]
#[ignore = "eleven imports of 100,000 records: run with --release (docs/testing.md)"]
fn messy_generated_records_100k_in_ten_other_orders_give_the_same_customers() {
    messy_records_in_other_orders(100_000, 10);
}

/// Generated messy records with their employers (organization records
/// sharing a role mailbox with their employees) and the employments, as a
/// user imports them: customers right by the truth column (F1 at least
/// 0.98, no merge of two records whose national ids differ by more than a
/// typo, no person in an organization's customer), and each employment a
/// relationship between a person and an organization.
#[test]
fn messy_records_with_employers_resolve_right_and_employees_are_related() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, jobs) = (tmp.path().join("messy.csv"), tmp.path().join("jobs.csv"));
    let o = kith(&[
        "generate-records",
        "--messy",
        "--records",
        "3000",
        "--out",
        file.to_str().unwrap(),
        "--employment",
        jobs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // An employment file that cannot be written, or one without --messy
    // (plain records have no employers): refused, naming why.
    let nowhere = tmp.path().join("no-such-dir").join("jobs.csv");
    let o = kith(&[
        "generate-records",
        "--messy",
        "--out",
        tmp.path().join("other.csv").to_str().unwrap(),
        "--employment",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-dir"));
    assert!(
        !tmp.path().join("other.csv").exists(),
        "nothing half-written"
    );
    let o = kith(&["generate-records", "--employment", jobs.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--messy"));
    let mapping = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/records/messy.toml");
    let customers = customers_of(tmp.path(), "0", mapping, &file);
    let db = tmp.path().join("db-0");
    let db = db.to_str().unwrap();
    let employment = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/records/messy-employment.toml"
    );
    let o = kith(&[
        "--db",
        db,
        "import",
        "--mapping",
        employment,
        jobs.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let jobs_rows = std::fs::read_to_string(&jobs).unwrap().lines().count() - 1;
    assert!(jobs_rows > 50);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains(&format!("relationships {jobs_rows};")) && out.contains("rejected 0"),
        "{out}"
    );
    // The truth, and each record's national id.
    let mut rdr = csv::Reader::from_path(&file).unwrap();
    let mut truth = std::collections::HashMap::new();
    let mut ids = std::collections::HashMap::new();
    for row in rdr.records() {
        let row = row.unwrap();
        truth.insert(row[0].to_string(), row[1].to_string());
        ids.insert(row[0].to_string(), row[12].to_string());
    }
    let pairs = |groups: Vec<Vec<String>>| {
        let mut out = std::collections::BTreeSet::new();
        for g in groups {
            for (i, a) in g.iter().enumerate() {
                for b in &g[i + 1..] {
                    out.insert((a.clone().min(b.clone()), a.clone().max(b.clone())));
                }
            }
        }
        out
    };
    let predicted = pairs(
        customers
            .iter()
            .map(|c| c.iter().map(|(_, k)| k.clone()).collect())
            .collect(),
    );
    let mut by_truth: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (rec, who) in &truth {
        by_truth.entry(who).or_default().push(rec.clone());
    }
    let actual = pairs(by_truth.into_values().collect());
    let tp = predicted.intersection(&actual).count() as f64;
    let (p, r) = (tp / predicted.len() as f64, tp / actual.len() as f64);
    let f1 = 2.0 * p * r / (p + r);
    assert!(f1 >= 0.98, "F1 {f1:.4} (precision {p:.4}, recall {r:.4})");
    let typo_apart = |x: &str, y: &str| {
        x.len() == y.len() && x.chars().zip(y.chars()).filter(|(a, b)| a != b).count() == 1
    };
    for (a, b) in predicted.difference(&actual) {
        let (x, y) = (&ids[a], &ids[b]);
        assert!(
            x.is_empty() || y.is_empty() || x == y || typo_apart(x, y),
            "{a} and {b} hold national ids {x} and {y} and were merged"
        );
        assert_eq!(
            truth[a].starts_with("org-"),
            truth[b].starts_with("org-"),
            "a person and an organization merged: {a}, {b}"
        );
    }
    // Every employee's customer is EMPLOYED_BY an organization customer.
    let o = kith(&["--db", db, "stats", "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let employed = &stats["relationships"]["EMPLOYED_BY"];
    assert!(employed.as_u64().unwrap_or(0) > 0, "{stats}");
    assert!(employed.as_u64().unwrap() <= jobs_rows as u64, "{stats}");
}

/// Records are resolved in groups, one transaction each: a row that fails
/// inside its group's transaction is rejected at its own line, and the
/// rows around it land as they would have alone.
#[test]
fn a_row_that_fails_inside_a_group_is_rejected_alone() {
    const KINDS: &str = r#"
system = "crm"
kind_column = "kind"
key = "id"

[kinds]
person = "person"
acct = "account"

[columns]
given_name = "first"
family_name = "last"
email = "email"
"#;
    let mut csv = b"id,kind,first,last,email\n".to_vec();
    csv.extend_from_slice(b"1,person,Robert,Smith,bob@x.io\n");
    // An account holding the identifier crm:A9.
    csv.extend_from_slice(b"A9,acct,,,\n");
    csv.extend_from_slice(b"2,person,Ann,Lee,ann@x.io\n");
    csv.extend_from_slice(b"3,person,Eve,Park,eve@x.io\n");
    // A person row whose key names the account: refused in the transaction.
    csv.extend_from_slice(b"A9,person,Tom,Kay,tom@x.io\n");
    csv.extend_from_slice(b"4,person,Rob,Smith,bob@x.io\n");
    csv.extend_from_slice(b"5,person,Ann,Lee,ann@x.io\n");
    let (o, rejects, tmp) = import_files(KINDS, &[("people.csv", &csv)], &[]);
    one_reject(&o, &rejects, 6, "not a source record");
    let db = tmp.path().join("db");
    let links = kith(&["--db", db.to_str().unwrap(), "export", "links"]);
    let text = String::from_utf8_lossy(&links.stdout).to_string();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{text}");
    let cust = |k: &str| {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("crm,{k},")))
            .unwrap_or_else(|| panic!("record {k} missing: {text}"));
        row.rsplit(',').next().unwrap().to_string()
    };
    assert_eq!(cust("1"), cust("4"), "{text}");
    assert_eq!(cust("2"), cust("5"), "{text}");
    assert_ne!(cust("1"), cust("2"), "{text}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("linked to an existing customer 2"));
    let o = kith(&["--db", db.to_str().unwrap(), "check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}
