//! Mapping-file features through `kith import`, as a user runs them: JSON
//! Lines sources, kinds from a column through a value table, transforms,
//! joined columns, split full names, a default phone country, trust ranks,
//! entity files and relationship files across systems.
#![cfg(feature = "cli")] // needs the `kith` command / the server

use std::process::Command;

fn kith(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn links(db: &str) -> std::collections::HashMap<String, String> {
    let out = ok(&kith(&["--db", db, "export", "links"]));
    out.lines()
        .skip(1)
        .map(|l| {
            let mut p = l.rsplitn(2, ',');
            let c = p.next().unwrap().to_string();
            (p.next().unwrap().to_string(), c)
        })
        .collect()
}

/// `kith import` of `file` through `map` into `db` (names relative to the
/// test's directory `p`), with the rejects beside the mapping and up to 100
/// of them allowed (each test reads the rejects file itself).
fn import_into(
    db: &str,
    p: &dyn Fn(&str) -> String,
    map: &str,
    file: &str,
) -> std::process::Output {
    kith(&[
        "--db",
        db,
        "import",
        "--mapping",
        &p(map),
        "--rejects",
        &p(&format!("{map}.rej")),
        "--max-rejects",
        "100",
        &p(file),
    ])
}

#[test]
fn jsonl_parties_with_a_kind_table_transforms_and_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let db = p("db");
    std::fs::write(
        p("crm.toml"),
        r#"
system = "crm"
format = "jsonl"
key = "id"
kind_column = "type"
phone_country = "61"
trust = 3
dates = ["birth_date"]
date_formats = ["iso", "eu"]

[kinds]
P = "person"
C = "organization"

[trust_by_attribute]
phone = 9

[split_name]
column = "name"

[columns]
organization_name = "company"
birth_date = "dob"
phone = "tel"
email = "mail"
street = { join = ["street_no", "street"], with = " " }

[transforms]
email = ["trim", "lower"]
street = ["collapse", "title"]
"#,
    )
    .unwrap();
    std::fs::write(
        p("crm.jsonl"),
        concat!(
            r#"{"id": "1", "type": "P", "name": "Smith, Robert James", "dob": "04/03/1970", "tel": "0412 345 678", "mail": " BOB@X.IO ", "street_no": 12, "street": "high   street"}"#,
            "\n",
            r#"{"id": "2", "type": "C", "company": "Acme Widgets Ltd", "tel": "+61 2 9000 1111"}"#,
            "\n",
            r#"{"id": "3", "type": "X", "name": "Nobody"}"#,
            "\n",
            "not json\n",
            r#"{"id": "4", "type": "P", "name": {"nested": true}}"#,
            "\n",
            "\n",
            r#"{"type": "P", "name": "No Key"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = ok(&kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("crm.toml"),
        "--rejects",
        &p("rej.csv"),
        "--max-rejects",
        "4",
        &p("crm.jsonl"),
    ]));
    assert!(out.contains("rows 6;"), "{out}");
    assert!(out.contains("records created 2"), "{out}");
    assert!(out.contains("rejected 4"), "{out}");
    let rej = std::fs::read_to_string(p("rej.csv")).unwrap();
    for want in [
        ",3,\"type: \"\"X\"\" is not in the kinds table\"",
        ",4,not a JSON object",
        ",5,\"name holds an object, not a value\"",
        ",7,missing key",
    ] {
        assert!(rej.contains(want), "{want} in {rej}");
    }
    // The person: name split, date in European form, phone in
    // international form, email lower-cased, street joined and titled.
    let o = ok(&kith(&[
        "--db", &db, "lookup", "crm", "1", "--record", "--json",
    ]));
    let rec: serde_json::Value = serde_json::from_str(&o).unwrap();
    let attrs = &rec["attrs"];
    assert_eq!(attrs["given_name"], "Robert");
    assert_eq!(attrs["middle_name"], "James");
    assert_eq!(attrs["family_name"], "Smith");
    assert_eq!(attrs["birth_date"]["$date"], "1970-03-04");
    assert_eq!(attrs["phone"], "+61412345678");
    assert_eq!(attrs["email"], "bob@x.io");
    assert_eq!(attrs["street"], "12 High Street");
    assert_eq!(attrs["trust"], 3);
    assert_eq!(attrs["trust_phone"], 9);
    // The organization is an organization customer.
    let l = links(&db);
    let org = &l["crm,2"];
    let o = ok(&kith(&["--db", &db, "get", org, "--json"]));
    let e: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(e["kind"], "organization");
    assert_eq!(e["attrs"]["phone"], "+61290001111");
    // Lineage shows the trust ranks.
    let person = &l["crm,1"];
    let o = ok(&kith(&["--db", &db, "lineage", person]));
    assert!(o.contains("phone") && o.contains("trust 9"), "{o}");
    assert!(o.contains("email") && o.contains("trust 3"), "{o}");
}

#[test]
fn accounts_and_relationship_files_join_records_of_different_systems() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let db = p("db");
    // Some rows are rejected on purpose (checked in the rejects files).
    let import = |map: &str, file: &str| ok(&import_into(&db, &p, map, file));
    // Persons and companies share keys ("1") in different systems.
    std::fs::write(
        p("people.toml"),
        "system = \"crm\"\nkey = \"id\"\n[columns]\ngiven_name = \"first\"\nfamily_name = \"last\"\nemail = \"email\"\n",
    )
    .unwrap();
    std::fs::write(
        p("people.csv"),
        "id,first,last,email\n1,Ann,Lee,ann@x.io\n2,Bo,Chan,bo@x.io\n",
    )
    .unwrap();
    std::fs::write(
        p("orgs.toml"),
        "system = \"registry\"\nkind = \"organization\"\nkey = \"id\"\n[columns]\norganization_name = \"name\"\nregistration_number = \"acn\"\n",
    )
    .unwrap();
    std::fs::write(
        p("orgs.csv"),
        "id,name,acn\n1,Acme Holdings Ltd,111222333\n2,Acme Widgets Pty Ltd,444555666\n",
    )
    .unwrap();
    std::fs::write(
        p("accounts.toml"),
        "system = \"core\"\nkind = \"account\"\nkey = \"acct\"\ndecimals = [\"balance\"]\n[columns]\nproduct_type = \"product\"\nbalance = \"balance\"\naccount_number = \"acct\"\n",
    )
    .unwrap();
    std::fs::write(
        p("accounts.csv"),
        "acct,product,balance\nA-1,mortgage,-250000.00\nA-2,checking,1200.50\n",
    )
    .unwrap();
    std::fs::write(
        p("rels.toml"),
        r#"
system = "rels"
kind = "relationship"
decimals = ["share"]
dates = ["since"]

[relationship]
from_system = "crm"
from_key = "from"
to_system = "core"
to_key = "to"
kind_column = "rel"
kinds = { owner = "OWNS", guarantor = "GUARANTEES" }
since = "since"

[columns]
role = "role"
share = "share"
"#,
    )
    .unwrap();
    std::fs::write(
        p("rels.csv"),
        "from,to,rel,role,share,since\n1,A-1,owner,primary,0.6,2020-01-01\n2,A-1,guarantor,,,\n1,A-2,owner,primary,1,\n9,A-1,owner,,,\n1,A-9,owner,,,\n1,A-2,sibling,,,\n",
    )
    .unwrap();
    std::fs::write(
        p("invest.toml"),
        r#"
system = "rels"
kind = "relationship"
decimals = ["ratio"]

[relationship]
from_system = "registry"
from_key = "investor"
to_system = "registry"
to_key = "investee"
kind = "INVESTS_IN"

[columns]
ratio = "ratio"
"#,
    )
    .unwrap();
    std::fs::write(p("invest.csv"), "investor,investee,ratio\n1,2,0.35\n").unwrap();
    import("people.toml", "people.csv");
    import("orgs.toml", "orgs.csv");
    let out = import("accounts.toml", "accounts.csv");
    assert!(out.contains("entities written 2"), "{out}");
    let out = import("rels.toml", "rels.csv");
    assert!(out.contains("relationships 3"), "{out}");
    assert!(out.contains("rejected 3"), "{out}");
    let rej = std::fs::read_to_string(p("rels.toml.rej")).unwrap();
    assert!(
        rej.contains(",5,unknown relationship endpoint crm:9"),
        "{rej}"
    );
    assert!(
        rej.contains(",6,unknown relationship endpoint core:A-9"),
        "{rej}"
    );
    assert!(
        rej.contains(",7,\"rel: \"\"sibling\"\" is not in the relationship kinds table\""),
        "{rej}"
    );
    let out = import("invest.toml", "invest.csv");
    assert!(out.contains("relationships 1"), "{out}");
    // Importing everything again changes nothing.
    for (m, f) in [
        ("people.toml", "people.csv"),
        ("orgs.toml", "orgs.csv"),
        ("accounts.toml", "accounts.csv"),
        ("invest.toml", "invest.csv"),
    ] {
        let out = import(m, f);
        assert!(
            out.contains("records created 0")
                && out.contains("entities written 0")
                && out.contains("relationships 0"),
            "{m}: {out}"
        );
    }
    let out = import("rels.toml", "rels.csv");
    assert!(
        out.contains("relationships 0") && out.contains("unchanged 3"),
        "{out}"
    );

    // Ann owns both accounts (60% of the mortgage); Bo guarantees it.
    let l = links(&db);
    let ann = &l["crm,1"];
    let o = ok(&kith(&["--db", &db, "context", ann, "--json"]));
    let ctx: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(ctx["accounts"].as_array().unwrap().len(), 2, "{ctx}");
    let o = ok(&kith(&["--db", &db, "lookup", "core", "A-1", "--json"]));
    let acct: serde_json::Value = serde_json::from_str(&o).unwrap();
    let rels = acct["relationships"].to_string();
    assert!(
        rels.contains("GUARANTEES") && rels.contains("OWNS"),
        "{rels}"
    );
    assert!(rels.contains("\"0.6\""), "{rels}");
    // The investment joins the two companies (keys "1" and "2" of registry,
    // not the persons "1" and "2" of crm).
    let holding = &l["registry,1"];
    let o = ok(&kith(&["--db", &db, "get", holding, "--json"]));
    assert!(o.contains("INVESTS_IN") && o.contains("0.35"), "{o}");

    // A changed row updates its record and resolves it again.
    std::fs::write(
        p("people.csv"),
        "id,first,last,email\n1,Ann,Lee,ann@x.io\n2,Bo,Chan,bo.chan@y.io\n",
    )
    .unwrap();
    let out = import("people.toml", "people.csv");
    assert!(
        out.contains("records updated 1") && out.contains("unchanged 1"),
        "{out}"
    );
    let o = ok(&kith(&["--db", &db, "lookup", "crm", "2", "--json"]));
    assert!(o.contains("bo.chan@y.io"), "{o}");
}

#[test]
fn users_decide_same_and_apart_through_apply_and_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let db = p("db");
    std::fs::write(
        p("events.jsonl"),
        concat!(
            r#"{"op":"upsert","system":"crm","key":"1","attrs":{"given_name":"Jo","family_name":"Park"}}"#,
            "\n",
            r#"{"op":"upsert","system":"web","key":"9","attrs":{"given_name":"Joanna","family_name":"Parke"}}"#,
            "\n",
            r#"{"op":"same","system":"crm","key":"1","other":{"system":"web","key":"9"}}"#,
            "\n",
            r#"{"op":"apart","system":"crm","key":"1","other":{"system":"nope","key":"0"}}"#,
            "\n",
        ),
    )
    .unwrap();
    let o = kith(&["--db", &db, "apply", &p("events.jsonl")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "upserts 2; deletes 0 (0 not found: nothing to delete); overrides 1; rejected 1"
        ),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(":4: no source record nope:0"), "{err}");
    let l = links(&db);
    assert_eq!(l["crm,1"], l["web,9"]);
    let out = ok(&kith(&["--db", &db, "apart", "crm", "1", "web", "9"]));
    assert!(out.contains("crm:1 is customer"), "{out}");
    let l = links(&db);
    assert_ne!(l["crm,1"], l["web,9"]);
    let out = ok(&kith(&["--db", &db, "same", "crm", "1", "web", "9"]));
    assert!(out.contains("are customer"), "{out}");
    let l = links(&db);
    assert_eq!(l["crm,1"], l["web,9"]);
    let o = kith(&["--db", &db, "same", "crm", "1", "web", "404"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no source record web:404"));
}

#[test]
fn dates_names_emails_and_shares_as_sources_write_them() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(
        p("map.toml"),
        r#"
system = "crm"
kind = "person"
key = "id"
dates = ["birth_date"]
date_formats = ["iso", "eu", "month"]
[split_name]
column = "name"
[columns]
email = "email"
birth_date = "dob"
"#,
    )
    .unwrap();
    std::fs::write(
        p("people.csv"),
        "id,name,email,dob\n\
         1,Dr. Ann Marie Lee Jr.,Ann Lee <ANN.LEE@x.io>,Mar 1 1970\n\
         2,\"Lee, Bob\",mailto:bob@x.io,01-MAR-70\n\
         3,Mrs Cy Day,cy@x.io,1 March 1961\n\
         4,Di Fox,di@x.io,1970\n\
         5,Ed Yu,ed@x.io,03/1970\n\
         6,Flo Ma,flo@x.io,31/12/05\n\
         7,Gus Oh,gus@x.io,Mar 45 1970\n",
    )
    .unwrap();
    let db = p("db");
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("map.toml"),
        "--rejects",
        &p("rej.csv"),
        &p("people.csv"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "row 7 is rejected: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rejects = std::fs::read_to_string(p("rej.csv")).unwrap();
    assert!(
        rejects.contains(",8,") && rejects.contains("Mar 45 1970"),
        "{rejects}"
    );
    let attrs = |key: &str| -> serde_json::Value {
        let j: serde_json::Value = serde_json::from_str(&ok(&kith(&[
            "--db", &db, "lookup", "crm", key, "--record", "--json",
        ])))
        .unwrap();
        j["attrs"].clone()
    };
    let a = attrs("1");
    assert_eq!(
        (
            a["given_name"].as_str(),
            a["middle_name"].as_str(),
            a["family_name"].as_str()
        ),
        (Some("Ann"), Some("Marie"), Some("Lee")),
        "{a}"
    );
    assert_eq!(a["email"], "ANN.LEE@x.io");
    assert_eq!(a["birth_date"]["$date"], "1970-03-01");
    let b = attrs("2");
    assert_eq!(
        (b["given_name"].as_str(), b["family_name"].as_str()),
        (Some("Bob"), Some("Lee"))
    );
    assert_eq!(b["email"], "bob@x.io");
    assert_eq!(
        b["birth_date"]["$date"], "1970-03-01",
        "a two-digit year is the latest not after this year"
    );
    let c = attrs("3");
    assert_eq!(
        (c["given_name"].as_str(), c["family_name"].as_str()),
        (Some("Cy"), Some("Day"))
    );
    assert_eq!(c["birth_date"]["$date"], "1961-03-01");
    assert_eq!(
        attrs("4")["birth_date"],
        "1970",
        "a year alone is kept as a partial date"
    );
    assert_eq!(attrs("5")["birth_date"], "1970-03");
    assert_eq!(attrs("6")["birth_date"]["$date"], "2005-12-31");
    // The email index finds the bare address.
    let found = ok(&kith(&["--db", &db, "find", "email", "ann.lee@x.io"]));
    assert!(!found.trim().is_empty(), "{found}");
}

#[test]
fn partial_dates_agree_partly_and_percent_shares_are_fractions() {
    use kith::resolve::compare::{compare, Agreement};
    let rec = |dob: kith::Value| -> kith::Attrs {
        [
            ("given_name", kith::Value::from("Ann")),
            ("family_name", "Lee".into()),
            ("birth_date", dob),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    };
    let full = rec(kith::Value::Date(kith::Date::parse("1970-03-01").unwrap()));
    let agreement = |other: &kith::Attrs| {
        compare(&full, other)
            .0
            .into_iter()
            .find(|f| f.field == "birth_date")
            .unwrap()
            .agreement
    };
    assert_eq!(agreement(&rec("1970".into())), Agreement::Partial);
    assert_eq!(agreement(&rec("1970-03".into())), Agreement::Partial);
    assert_eq!(agreement(&rec("1971".into())), Agreement::Disagree);
    assert_eq!(agreement(&rec("1970-04".into())), Agreement::Disagree);
    let d = kith::import::mapping::source_decimal("60%").unwrap();
    assert_eq!(d.to_string(), "0.60");
    assert_eq!(
        kith::import::mapping::source_decimal(" 12.5 %")
            .unwrap()
            .to_string(),
        "0.125"
    );
    assert!(kith::import::mapping::source_decimal("%").is_err());
}

#[test]
fn several_columns_feed_one_multi_valued_attribute_compared_value_by_value() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    std::fs::write(
        p("crm.toml"),
        "system = \"crm\"\nkind = \"person\"\nkey = \"id\"\n[columns]\ngiven_name = \"first\"\nfamily_name = \"last\"\nphone = { each = [\"phone_home\", \"phone_mobile\"] }\nemail = { each = [\"email_work\", \"email_home\"] }\n[transforms]\nphone = [\"digits\"]\n",
    )
    .unwrap();
    std::fs::write(
        p("crm.csv"),
        "id,first,last,phone_home,phone_mobile,email_work,email_home\n\
         1,Ann,Lee,(555) 010-1111,555 010 2222,ann@work.example,\n\
         2,Bob,Ray,555 010 3333,555 010 3333,,\n",
    )
    .unwrap();
    std::fs::write(
        p("web.toml"),
        "system = \"web\"\nkind = \"person\"\nkey = \"id\"\n[columns]\ngiven_name = \"first\"\nfamily_name = \"last\"\nphone = \"phone\"\nemail = \"email\"\n",
    )
    .unwrap();
    // The web record has Ann's mobile (not her home phone) and another email.
    std::fs::write(
        p("web.csv"),
        "id,first,last,phone,email\nu1,Ann,Lee,+1 555 010 2222,ann@home.example\n",
    )
    .unwrap();
    let db = p("db");
    ok(&kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("crm.toml"),
        "--rejects",
        &p("r1.csv"),
        &p("crm.csv"),
    ]));
    ok(&kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("web.toml"),
        "--rejects",
        &p("r2.csv"),
        &p("web.csv"),
    ]));
    let j: serde_json::Value = serde_json::from_str(&ok(&kith(&[
        "--db", &db, "lookup", "crm", "1", "--record", "--json",
    ])))
    .unwrap();
    assert_eq!(
        j["attrs"]["phone"],
        serde_json::json!(["5550101111", "5550102222"]),
        "{j}"
    );
    assert_eq!(
        j["attrs"]["email"], "ann@work.example",
        "one value stays a single value"
    );
    let bob: serde_json::Value = serde_json::from_str(&ok(&kith(&[
        "--db", &db, "lookup", "crm", "2", "--record", "--json",
    ])))
    .unwrap();
    assert_eq!(
        bob["attrs"]["phone"], "5550103333",
        "a repeated value is kept once"
    );
    let l = links(&db);
    assert_eq!(
        l["crm,1"], l["web,u1"],
        "the mobile matched one of the two phones: {l:?}"
    );
    // Every value is indexed.
    assert!(!ok(&kith(&["--db", &db, "find", "phone", "5550101111"]))
        .trim()
        .is_empty());
}

#[test]
fn relationship_ends_named_by_an_email_a_registration_number_or_an_account_number() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let db = p("db");
    let import = |map: &str, file: &str| import_into(&db, &p, map, file);
    std::fs::write(
        p("people.toml"),
        "system = \"crm\"\nkey = \"id\"\n[columns]\ngiven_name = \"first\"\nfamily_name = \"last\"\nemail = \"email\"\n",
    )
    .unwrap();
    // Ann has two records (one customer); Cy and Di share a family mailbox.
    std::fs::write(
        p("people.csv"),
        "id,first,last,email\n1,Ann,Lee,ann@x.io\n2,Ann,Lee,Ann@X.io\n3,Cy,Moss,moss@x.io\n4,Di,Moss-Park,moss@x.io\n",
    )
    .unwrap();
    std::fs::write(
        p("orgs.toml"),
        "system = \"registry\"\nkind = \"organization\"\nkey = \"id\"\n[columns]\norganization_name = \"name\"\nregistration_number = \"acn\"\n",
    )
    .unwrap();
    std::fs::write(
        p("orgs.csv"),
        "id,name,acn\n1,Acme Holdings Ltd,111 222 333\n",
    )
    .unwrap();
    std::fs::write(
        p("accounts.toml"),
        "system = \"core\"\nkind = \"account\"\nkey = \"acct\"\n[columns]\naccount_number = \"acct\"\n",
    )
    .unwrap();
    std::fs::write(p("accounts.csv"), "acct\nA-1\n").unwrap();
    // The employer file knows people by email and companies by their
    // registration number; the guarantees file knows accounts by number.
    std::fs::write(
        p("rels.toml"),
        r#"
system = "hr"
kind = "relationship"

[relationship]
from_by = "email"
from_key = "email"
to_by = "registration_number"
to_key = "acn"
kind = "EMPLOYED_BY"
"#,
    )
    .unwrap();
    std::fs::write(
        p("rels.csv"),
        "email,acn\nANN@x.io,111222333\nmoss@x.io,111222333\nnobody@x.io,111222333\n",
    )
    .unwrap();
    std::fs::write(
        p("guar.toml"),
        "system = \"loans\"\nkind = \"relationship\"\n[relationship]\nfrom_system = \"crm\"\nfrom_key = \"who\"\nto_by = \"account_number\"\nto_key = \"acct\"\nkind = \"GUARANTEES\"\n",
    )
    .unwrap();
    std::fs::write(p("guar.csv"), "who,acct\n3,a1\n").unwrap();
    for (m, f) in [
        ("people.toml", "people.csv"),
        ("orgs.toml", "orgs.csv"),
        ("accounts.toml", "accounts.csv"),
    ] {
        ok(&import(m, f));
    }
    let out = ok(&import("rels.toml", "rels.csv"));
    assert!(
        out.contains("relationships 1") && out.contains("rejected 2"),
        "{out}"
    );
    let rej = std::fs::read_to_string(p("rels.toml.rej")).unwrap();
    assert!(
        rej.contains(",3,") && rej.contains("names 2 customers"),
        "{rej}"
    );
    assert!(
        rej.contains(",4,") && rej.contains("nothing has email"),
        "{rej}"
    );
    let out = ok(&import("guar.toml", "guar.csv"));
    assert!(out.contains("relationships 1"), "{out}");
    // Ann's customer is employed by Acme; Cy guarantees account A-1.
    let l = links(&db);
    let o = ok(&kith(&["--db", &db, "get", &l["crm,1"], "--json"]));
    assert!(o.contains("EMPLOYED_BY"), "{o}");
    let o = ok(&kith(&["--db", &db, "lookup", "core", "A-1", "--json"]));
    assert!(o.contains("GUARANTEES"), "{o}");
    // A mapping naming an attribute that names nothing is refused whole,
    // with the closest name; so is an end given both ways.
    let bad = std::fs::read_to_string(p("rels.toml"))
        .unwrap()
        .replace("from_by = \"email\"", "from_by = \"emial\"");
    std::fs::write(p("bad.toml"), bad).unwrap();
    let o = import("bad.toml", "rels.csv");
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("emial") && e.contains("did you mean \"email\""),
        "{e}"
    );
    let both = std::fs::read_to_string(p("rels.toml")).unwrap().replace(
        "from_by = \"email\"",
        "from_by = \"email\"\nfrom_system = \"crm\"",
    );
    std::fs::write(p("both.toml"), both).unwrap();
    let o = import("both.toml", "rels.csv");
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("exactly one of from_system"), "{e}");
}

#[test]
fn json_documents_with_nested_objects_typed_lists_and_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let db = p("db");
    std::fs::write(
        p("feed.toml"),
        r#"
system = "feed"
format = "jsonl"
key = "RECORD_ID"
dates = ["birth_date"]

[columns]
given_name = "NAMES[TYPE=PRIMARY].FIRST"
family_name = "NAMES[TYPE=PRIMARY].LAST"
birth_date = "DOB"
phone = "PHONES[*].NUMBER"
email = "emails"
city = "ADDRESSES[TYPE=HOME].CITY"
national_id = "IDS[TYPE=SSN].VALUE"
"#,
    )
    .unwrap();
    std::fs::write(
        p("feed.jsonl"),
        concat!(
            r#"{"RECORD_ID": "A1", "NAMES": [{"TYPE": "AKA", "FIRST": "Annie", "LAST": "Lee"}, {"TYPE": "PRIMARY", "FIRST": "Ann", "LAST": "Lee"}], "DOB": "1970-03-04", "PHONES": [{"TYPE": "HOME", "NUMBER": "+1 555 0100"}, {"TYPE": "MOBILE", "NUMBER": "+1 555 0199"}], "emails": ["ann@x.io", "ann.lee@y.io"], "ADDRESSES": [{"TYPE": "HOME", "CITY": "Springfield"}], "IDS": [{"TYPE": "SSN", "VALUE": "123-45-6789"}]}"#,
            "\n",
            r#"{"RECORD_ID": "A2", "NAMES": {"TYPE": "PRIMARY", "FIRST": "Bo", "LAST": "Chan"}, "emails": "bo@x.io"}"#,
            "\n",
            r#"{"RECORD_ID": "A3", "NAMES": [{"TYPE": "PRIMARY", "FIRST": "Cy", "LAST": "Moss"}], "emails": [{"addr": "cy@x.io"}]}"#,
            "\n",
        ),
    )
    .unwrap();
    let o = kith(&[
        "--db",
        &db,
        "import",
        "--mapping",
        &p("feed.toml"),
        "--rejects",
        &p("rej.csv"),
        "--max-rejects",
        "1",
        &p("feed.jsonl"),
    ]);
    let out = ok(&o);
    assert!(
        out.contains("records created 2") && out.contains("rejected 1"),
        "{out}"
    );
    let rej = std::fs::read_to_string(p("rej.csv")).unwrap();
    assert!(rej.contains(",3,\"emails holds an object"), "{rej}");
    let rec = |key: &str| -> serde_json::Value {
        let o = ok(&kith(&[
            "--db", &db, "lookup", "feed", key, "--record", "--json",
        ]));
        serde_json::from_str::<serde_json::Value>(&o).unwrap()["attrs"].clone()
    };
    let a = rec("A1");
    assert_eq!(a["given_name"], "Ann", "{a}");
    assert_eq!(a["family_name"], "Lee", "{a}");
    assert_eq!(a["city"], "Springfield", "{a}");
    assert_eq!(a["national_id"], "123-45-6789", "{a}");
    assert_eq!(a["phone"].as_array().unwrap().len(), 2, "{a}");
    assert_eq!(a["email"].as_array().unwrap().len(), 2, "{a}");
    let b = rec("A2");
    assert_eq!(b["given_name"], "Bo", "{b}");
    assert_eq!(b["email"], "bo@x.io", "{b}");
    // A malformed path stops the import before it starts, naming it.
    let bad = std::fs::read_to_string(p("feed.toml"))
        .unwrap()
        .replace("PHONES[*].NUMBER", "PHONES[*.NUMBER");
    std::fs::write(p("bad.toml"), bad).unwrap();
    let o = kith(&[
        "--db",
        &p("db2"),
        "import",
        "--mapping",
        &p("bad.toml"),
        &p("feed.jsonl"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("PHONES[*.NUMBER") && e.contains("without ']'"),
        "{e}"
    );
}
