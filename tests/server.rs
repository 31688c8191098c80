//! The wire protocol: the Rust client, raw bytes (every malformed case),
//! authentication, limits, timeouts, shutdown, and redis-cli /
//! redis-benchmark talking to kith unchanged.
#![cfg(feature = "cli")] // needs the `kith` command / the server

use kith::client::{Client, ClientError};
use kith::server::ServerConfig;
use kith::{
    attrs, Date, Db, Decimal, Direction, EdgeProps, Index, NewEntity, Patch, RelKind,
    StorageEngine, Value,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

mod common;
use common::{start_with, Running};

fn start() -> Running {
    start_with(Db::temporary().unwrap(), ServerConfig::default())
}

/// Sends raw bytes and reads whatever comes back until the server closes or
/// goes quiet.
fn raw(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, bool) {
    raw_waiting(addr, bytes, Duration::from_millis(700))
}

/// Sends `bytes`, reads until the server closes or is silent for `quiet`.
fn raw_waiting(addr: SocketAddr, bytes: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(quiet)).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (out, closed)
}

fn alive(addr: SocketAddr) {
    let mut c = Client::connect(addr).unwrap();
    c.ping().unwrap();
}

#[test]
fn the_client_returns_the_same_typed_results_as_the_embedded_api() {
    typed_client_on(StorageEngine::Sled);
}

#[test]
fn the_client_returns_the_same_typed_results_on_fjall() {
    typed_client_on(StorageEngine::Fjall);
}

#[test]
fn the_client_returns_the_same_typed_results_on_redb() {
    typed_client_on(StorageEngine::Redb);
}

/// The typed client against a server over a database of `engine`.
fn typed_client_on(engine: StorageEngine) {
    let db = Db::builder().engine(engine).temporary().open().unwrap();
    let srv = start_with(db, ServerConfig::default());
    let mut c = Client::connect(srv.addr).unwrap();
    c.ping().unwrap();
    let kith::server::Frame::Bulk(info) = c.command(&[b"INFO", b"persistence"]).unwrap() else {
        panic!("INFO answers a bulk string")
    };
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains(&format!("storage_engine:{engine}")), "{info}");
    let ann = c
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Ann")
                .attr(attrs::FAMILY_NAME, "Lee")
                .attr(attrs::BIRTH_DATE, Date::parse("1980-02-01").unwrap())
                .attr(attrs::EMAIL, "Ann@Example.com")
                .attr("score", Value::Int(7))
                .identifier("crm", "C-1"),
        )
        .unwrap();
    let loan = c
        .create(NewEntity::account().attr(attrs::BALANCE, Decimal::parse("1500.25").unwrap()))
        .unwrap();
    assert_eq!(c.lookup("crm", "C-1").unwrap(), Some(ann));
    assert_eq!(c.lookup("crm", "nope").unwrap(), None);
    assert_eq!(c.find(Index::Email, "ann@example.com").unwrap(), vec![ann]);
    let e = c.get(ann).unwrap().unwrap();
    assert_eq!(
        e.attr(attrs::BIRTH_DATE),
        Some(Value::Date(Date::parse("1980-02-01").unwrap()))
    );
    assert_eq!(e.attr("score"), Some(Value::Int(7)));
    assert_eq!(e.identifiers()[0].to_string(), "crm:C-1");
    let l = c.get(loan).unwrap().unwrap();
    assert_eq!(
        l.attr(attrs::BALANCE),
        Some(Value::Decimal(Decimal::parse("1500.25").unwrap()))
    );

    let props = EdgeProps::new()
        .attr(attrs::ROLE, "primary")
        .valid(Date::parse("2020-01-01").ok(), None);
    assert!(c.relate(ann, RelKind::OWNS, loan, props.clone()).unwrap());
    let n = c.neighbours(loan, RelKind::OWNS, Direction::In).unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(
        (n[0].id, n[0].kind, n[0].direction, &n[0].props),
        (ann, RelKind::OWNS, Direction::In, &props)
    );

    let updated = c
        .update(
            ann,
            Patch::new().set(attrs::EMAIL, "ann@new.io").remove("score"),
        )
        .unwrap();
    assert_eq!(updated.text(attrs::EMAIL), Some("ann@new.io"));
    assert_eq!(updated.attr("score"), None);
    assert_eq!(
        c.get_many(&[ann, kith::EntityId(999), loan])
            .unwrap()
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        vec![true, false, true]
    );
    assert_eq!(
        c.get_pipelined(&[loan, ann]).unwrap()[1]
            .as_ref()
            .unwrap()
            .id,
        ann
    );
    let s = c.stats().unwrap();
    assert_eq!((s.entities["person"], s.relationships["OWNS"]), (1, 1));

    // Errors carry their stable code word.
    match c.create(NewEntity::person().identifier("crm", "C-1")) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "CONFLICT"),
        other => panic!("expected CONFLICT, got {other:?}"),
    }
    match c.update(kith::EntityId(999), Patch::new().set("x", "y")) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "NOTFOUND"),
        other => panic!("expected NOTFOUND, got {other:?}"),
    }
    assert!(c.unrelate(ann, RelKind::OWNS, loan).unwrap());
    assert!(c.delete(ann).unwrap());
    assert!(!c.delete(ann).unwrap());
    assert_eq!(c.get(ann).unwrap(), None);
    srv.stop().unwrap();
}

/// A bulk reply's JSON.
fn json(f: kith::server::Frame) -> serde_json::Value {
    let kith::server::Frame::Bulk(b) = f else {
        panic!("{f:?}")
    };
    serde_json::from_slice(&b).unwrap()
}

#[test]
fn relationship_queries_over_the_wire() {
    let db = Db::temporary().unwrap();
    let hh = db.create(NewEntity::household()).unwrap();
    let a = db
        .create(NewEntity::person().attr(attrs::PHONE, "555 000 1234"))
        .unwrap();
    let b = db
        .create(NewEntity::person().attr(attrs::PHONE, "5550001234"))
        .unwrap();
    db.relate(a, RelKind::MEMBER_OF, hh, EdgeProps::new())
        .unwrap();
    db.relate(b, RelKind::MEMBER_OF, hh, EdgeProps::new())
        .unwrap();
    db.relate(
        b,
        RelKind::GUARANTEES,
        a,
        EdgeProps::new()
            .attr(attrs::AMOUNT, kith::Decimal::parse("500").unwrap())
            .valid(kith::Date::parse("2020-01-01").ok(), None),
    )
    .unwrap();
    let srv = start_with(db, ServerConfig::default());
    let mut c = Client::connect(srv.addr).unwrap();
    let (sa, sb, shh) = (a.0.to_string(), b.0.to_string(), hh.0.to_string());
    let h = json(c.command(&[b"HOUSEHOLD", sa.as_bytes()]).unwrap());
    assert_eq!(h[0]["members"].as_array().unwrap().len(), 2);
    let g = json(c.command(&[b"GUARANTORS", sa.as_bytes(), b"3"]).unwrap());
    assert_eq!(g["guaranteed_by"][0]["id"], b.0);
    assert!(g["guaranteed_by"][0]["props"].is_array());
    let dated = json(
        c.command(&[b"GUARANTORS", sa.as_bytes(), b"3", b"2024-01-01"])
            .unwrap(),
    );
    assert!(dated["guaranteed_by"].is_array());
    assert!(matches!(
        c.command(&[b"GUARANTORS", sa.as_bytes(), b"3", b"noon"]),
        Err(ClientError::Server { .. })
    ));
    let p = json(
        c.command(&[b"PATH", sa.as_bytes(), sb.as_bytes(), b"2", b"MEMBER_OF"])
            .unwrap(),
    );
    assert_eq!(p["truncated"], false);
    let p = &p["paths"];
    assert_eq!(p[0]["nodes"], serde_json::json!([a.0, hh.0, b.0]));
    assert_eq!(p[0]["hops"][0]["kind"], "MEMBER_OF");
    assert_eq!(p[0]["hops"][0]["direction"], "out");
    assert_eq!(p[0]["hops"][1]["direction"], "in");
    // Dates on every query: AT, SINCE, UNTIL, in any order, at the end.
    let cmd = |c: &mut Client, parts: &[&str]| -> serde_json::Value {
        let args: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        json(c.command(&args).unwrap())
    };
    let g = cmd(&mut c, &["GUARANTORS", &sa, "3", "SINCE", "2019-01-01"]);
    assert_eq!(
        g["guaranteed_by"][0]["props"][0]["attrs"]["amount"]["$decimal"],
        "500"
    );
    let g = cmd(&mut c, &["GUARANTORS", &sa, "UNTIL", "2019-01-01"]);
    assert!(g["guaranteed_by"].as_array().unwrap().is_empty());
    let g = cmd(&mut c, &["GUARANTORS", &sa, "3", "AT", "2019-06-01"]);
    assert!(g["guaranteed_by"].as_array().unwrap().is_empty());
    let p = cmd(
        &mut c,
        &["PATH", &sa, &sb, "3", "GUARANTEES:in", "AT", "2021-01-01"],
    );
    assert_eq!(p["paths"][0]["hops"][0]["props"]["since"], "2020-01-01");
    let p = cmd(
        &mut c,
        &["PATH", &sa, &sb, "3", "GUARANTEES", "UNTIL", "2019-12-31"],
    );
    assert!(p["paths"].as_array().unwrap().is_empty());
    let h = cmd(&mut c, &["HOUSEHOLD", &sa, "SINCE", "2000-01-01"]);
    assert!(
        h.as_array().unwrap().is_empty(),
        "memberships with no start day: {h}"
    );
    let h = cmd(&mut c, &["HOUSEHOLD", &sa, "AT", "2000-01-01"]);
    assert_eq!(
        h[0]["members"][0]["props"]["since"],
        serde_json::Value::Null
    );
    let o = cmd(&mut c, &["OWNERS", &shh, "25", "AT", "2000-01-01"]);
    assert!(o["owners"].as_array().unwrap().is_empty());
    let g = cmd(
        &mut c,
        &["GROUP", &shh, "SINCE", "2000-01-01", "AT", "2020-01-01"],
    );
    assert_eq!(g["members"][0]["owned_by"], serde_json::json!([]));
    for bad in [
        vec!["GROUP", shh.as_str(), "AT", "noon"],
        vec![
            "GROUP",
            shh.as_str(),
            "AT",
            "2020-01-01",
            "AT",
            "2021-01-01",
        ],
        vec![
            "GROUP",
            shh.as_str(),
            "SINCE",
            "2022-01-01",
            "UNTIL",
            "2021-01-01",
        ],
        vec!["GROUP", shh.as_str(), "EXTRA"],
        vec!["HOUSEHOLD", sa.as_str(), "AT"],
        vec!["OWNERS", shh.as_str(), "25", "PERSONS", "AT", "yesterday"],
    ] {
        let args: Vec<&[u8]> = bad.iter().map(|p| p.as_bytes()).collect();
        match c.command(&args) {
            Err(ClientError::Server { code, message }) => {
                assert!(
                    code == "INVALID" || code == "ERR",
                    "{bad:?}: {code} {message}"
                )
            }
            other => panic!("{bad:?}: expected an error, got {other:?}"),
        }
    }
    let s = json(c.command(&[b"SHARED", sa.as_bytes()]).unwrap());
    assert_eq!(s[0]["id"], b.0);
    assert_eq!(s[0]["shared"], "phone");
    let g = json(c.command(&[b"GROUP", shh.as_bytes()]).unwrap());
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    let iid = match c
        .command(&[b"INTERACTION.ADD", sa.as_bytes(), br#"{"attrs":{"channel":"web","status":"open","interaction_type":"dispute","occurred_at":{"$timestamp":"2030-01-01T00:00:00Z"}}}"#])
        .unwrap()
    {
        kith::server::Frame::Integer(i) => i as u64,
        other => panic!("{other:?}"),
    };
    let ctx = json(c.command(&[b"CONTEXT", sa.as_bytes()]).unwrap());
    assert_eq!(ctx["customer"]["id"], a.0);
    assert_eq!(ctx["recent_interactions"][0]["id"], iid);
    assert_eq!(ctx["open_items"][0]["what"], "open dispute");
    let kith::server::Frame::Array(items) =
        c.command(&[b"INTERACTIONS", sa.as_bytes(), b"5"]).unwrap()
    else {
        panic!()
    };
    assert_eq!(items.len(), 1);
    // Source records through identity resolution.
    let first = json(
        c.command(&[
            b"RECORD.UPSERT",
            b"crm",
            b"R1",
            br#"{"attrs":{"given_name":"Ann","family_name":"Lee","email":"ann@x.io"}}"#,
        ])
        .unwrap(),
    );
    assert_eq!(first["outcome"], "created");
    let second = json(
        c.command(&[
            b"RECORD.UPSERT",
            b"web",
            b"W1",
            br#"{"attrs":{"email":"ANN@x.io"}}"#,
        ])
        .unwrap(),
    );
    assert_eq!(second["outcome"], "linked");
    assert_eq!(second["customer"], first["customer"]);
    // Explanations, lineage and a user's decisions.
    let x = json(c.command(&[b"RECORD.EXPLAIN", b"web", b"W1"]).unwrap());
    assert_eq!(x["customer"], first["customer"]);
    assert_eq!(x["comparisons"][0]["record"], "crm:R1");
    assert!(x["comparisons"][0]["total"].as_f64().unwrap() >= 12.0);
    let pair = json(
        c.command(&[b"RECORD.EXPLAIN", b"web", b"W1", b"crm", b"R1"])
            .unwrap(),
    );
    assert_eq!(pair["total"], x["comparisons"][0]["total"]);
    let cust = first["customer"].as_u64().unwrap().to_string();
    let lineage = json(c.command(&[b"LINEAGE", cust.as_bytes()]).unwrap());
    assert!(lineage
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["attr"] == "family_name" && l["record"] == "crm:R1"));
    let kith::server::Frame::Array(two) = c
        .command(&[b"RECORD.APART", b"web", b"W1", b"crm", b"R1"])
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert_eq!(
        c.command(&[b"RECORD.SAME", b"web", b"W1", b"crm", b"R1"])
            .unwrap(),
        kith::server::Frame::Integer(first["customer"].as_i64().unwrap())
    );
    match c.command(&[b"RECORD.EXPLAIN", b"web", b"nope"]) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "NOTFOUND"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.command(&[b"RECORD.DELETE", b"web", b"W1"]).unwrap(),
        kith::server::Frame::Integer(1)
    );
    assert_eq!(
        c.command(&[b"RECORD.DELETE", b"web", b"W1"]).unwrap(),
        kith::server::Frame::Integer(0)
    );
    match c.command(&[b"RECORD.UPSERT", b"crm", b"R2", br#"{"kind":"account"}"#]) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "INVALID"),
        other => panic!("{other:?}"),
    }
    match c.command(&[b"CONTEXT", b"777777"]) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "NOTFOUND"),
        other => panic!("{other:?}"),
    }
    match c.command(&[b"GUARANTORS", sa.as_bytes(), b"99"]) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "INVALID"),
        other => panic!("{other:?}"),
    }
    match c.command(&[b"HOUSEHOLD", b"424242"]) {
        Err(ClientError::Server { code, .. }) => assert_eq!(code, "NOTFOUND"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stats_and_info_count_merged_away_customers_apart() {
    let srv = start();
    let mut c = Client::connect(srv.addr).unwrap();
    // Two customers of Ann Lee, then a record holding both her email and
    // her national id: one merge.
    for (system, key, attrs) in [
        (
            "crm",
            "1",
            r#"{"given_name":"Ann","family_name":"Lee","email":"ann@x.io"}"#,
        ),
        (
            "billing",
            "7",
            r#"{"given_name":"Ann","family_name":"Lee","national_id":"123456789"}"#,
        ),
        (
            "core",
            "X",
            r#"{"given_name":"Ann","family_name":"Lee","email":"ann@x.io","national_id":"123456789"}"#,
        ),
    ] {
        let body = format!(r#"{{"kind":"person","attrs":{attrs}}}"#);
        let out = json(
            c.command(&[
                b"RECORD.UPSERT",
                system.as_bytes(),
                key.as_bytes(),
                body.as_bytes(),
            ])
            .unwrap(),
        );
        if key == "X" {
            assert_eq!(out["outcome"], "merged", "{out}");
        }
    }
    let stats = json(c.command(&[b"STATS"]).unwrap());
    assert_eq!(stats["entities"]["person"], 1, "{stats}");
    assert_eq!(stats["merged"]["person"], 1, "{stats}");
    let typed = c.stats().unwrap();
    assert_eq!((typed.entities["person"], typed.merged["person"]), (1, 1));
    let kith::server::Frame::Bulk(info) = c.command(&[b"INFO", b"entities"]).unwrap() else {
        panic!("INFO answers a bulk string")
    };
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("entities_person:1\r\n"), "{info}");
    assert!(info.contains("merged_person:1\r\n"), "{info}");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let srv = start();
    let mut req = Vec::new();
    for i in 0..50 {
        req.extend_from_slice(
            format!("*2\r\n$4\r\nECHO\r\n${}\r\n{}\r\n", i.to_string().len(), i).as_bytes(),
        );
    }
    req.extend_from_slice(b"PING\r\n*1\r\n$4\r\nQUIT\r\n");
    let (out, closed) = raw(srv.addr, &req);
    let mut expected = String::new();
    for i in 0..50 {
        expected.push_str(&format!("${}\r\n{}\r\n", i.to_string().len(), i));
    }
    expected.push_str("+PONG\r\n+OK\r\n");
    assert_eq!(String::from_utf8_lossy(&out), expected);
    assert!(closed, "QUIT closes the connection");
}

#[test]
fn requests_in_pieces_larger_than_a_read_and_cached_replies_keep_their_order() {
    let db = Db::temporary().unwrap();
    let ann = db
        .create(NewEntity::person().attr(attrs::GIVEN_NAME, "Ann"))
        .unwrap();
    let srv = start_with(db, ServerConfig::default());
    let get = format!(
        "*2\r\n$10\r\nENTITY.GET\r\n${}\r\n{}\r\n",
        ann.0.to_string().len(),
        ann.0
    );
    let context = format!(
        "*2\r\n$7\r\nCONTEXT\r\n${}\r\n{}\r\n",
        ann.0.to_string().len(),
        ann.0
    );
    // 100 KB: several reads of the server's 16 KiB buffer.
    let big = "x".repeat(100_000);
    let echo = format!("*2\r\n$4\r\nECHO\r\n${}\r\n{big}\r\n", big.len());
    // A miss, then hits (served from the reply cache), around the big one.
    let req = [&get, &get, &context, &echo, &get, &context, "PING\r\n"].concat();
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for piece in req.as_bytes().chunks(4_099) {
        s.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    // The end of the input: every request before it is still answered.
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let mut at = 0;
    let mut frames = Vec::new();
    while let Some((f, used)) =
        kith::resp::parse_reply(&out[at..], &kith::resp::Limits::default()).unwrap()
    {
        frames.push(f);
        at += used;
    }
    assert_eq!(at, out.len(), "nothing but whole replies");
    assert_eq!(frames.len(), 7, "{frames:?}");
    let bulk = |f: &kith::server::Frame| match f {
        kith::server::Frame::Bulk(b) => b.clone(),
        other => panic!("not a bulk reply: {other:?}"),
    };
    let entity: serde_json::Value = serde_json::from_slice(&bulk(&frames[0])).unwrap();
    assert_eq!(entity["id"], ann.0);
    assert_eq!(
        bulk(&frames[0]),
        bulk(&frames[1]),
        "a hit answers as the miss did"
    );
    assert_eq!(bulk(&frames[0]), bulk(&frames[4]));
    assert_eq!(bulk(&frames[2]), bulk(&frames[5]));
    let ctx: serde_json::Value = serde_json::from_slice(&bulk(&frames[2])).unwrap();
    assert!(ctx.is_object(), "{ctx}");
    assert_eq!(bulk(&frames[3]), big.as_bytes());
    assert_eq!(frames[6], kith::server::Frame::Simple("PONG".into()));
}

#[test]
fn malformed_input_gets_an_error_or_a_closed_connection_never_a_crash() {
    let cfg = ServerConfig {
        read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let srv = start_with(Db::temporary().unwrap(), cfg);
    let cases: &[(&[u8], &str, bool)] = &[
        (b"*1\r\n$99999999999\r\n", "-ERR Protocol error", true),
        (b"*2000000\r\n", "-ERR Protocol error", true),
        (b"*1\r\n$3\r\nabcdef\r\n", "-ERR Protocol error", true),
        (b"*x\r\n", "-ERR Protocol error", true),
        (b"*1\r\n:12\r\n", "-ERR Protocol error", true),
        (
            b"*1\r\n$7\r\nNOTACMD\r\n",
            "-ERR unknown command 'NOTACMD'",
            false,
        ),
        (
            b"*1\r\n$10\r\nENTITY.GET\r\n",
            "-ERR wrong number of arguments",
            false,
        ),
        (
            b"*3\r\n$6\r\nLOOKUP\r\n$2\r\n\xff\xfe\r\n$1\r\nk\r\n",
            "-INVALID system is not valid UTF-8",
            false,
        ),
        (
            b"*2\r\n$10\r\nENTITY.GET\r\n$3\r\nabc\r\n",
            "-INVALID id must be",
            false,
        ),
        (b"*2\r\n$10\r\nENTITY.GET\r\n$2\r\n77\r\n", "$-1", false),
        (
            b"*3\r\n$13\r\nENTITY.CREATE\r\n$6\r\nperson\r\n$5\r\n{oops\r\n",
            "-INVALID argument 2 is not JSON",
            false,
        ),
        (
            b"*3\r\n$13\r\nENTITY.CREATE\r\n$5\r\nalien\r\n$2\r\n{}\r\n",
            "-INVALID unknown entity kind",
            false,
        ),
        (
            b"*4\r\n$7\r\nREL.ADD\r\n$1\r\n1\r\n$4\r\nOWNS\r\n$1\r\n2\r\n",
            "-NOTFOUND",
            false,
        ),
        (
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n",
            "-ERR DB index is out of range",
            false,
        ),
    ];
    for (bytes, want, closes) in cases {
        let (out, closed) = raw(srv.addr, bytes);
        let got = String::from_utf8_lossy(&out);
        assert!(
            got.starts_with(want),
            "{:?}: got {got:?}",
            String::from_utf8_lossy(bytes)
        );
        if *closes {
            assert!(
                closed,
                "{:?} should close the connection",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    // A frame cut off mid-way: the server waits, then times the client out.
    // (The server's timeout is 300 ms; the client waits up to 5 s of
    // silence, so a loaded machine cannot make it give up first.)
    let (out, closed) = raw_waiting(
        srv.addr,
        b"*2\r\n$4\r\nECHO\r\n$10\r\nabc",
        Duration::from_secs(5),
    );
    assert!(
        closed,
        "a stalled half frame must be closed after the read timeout"
    );
    assert!(String::from_utf8_lossy(&out).contains("timeout"), "{out:?}");
    // Random bytes, many times: error replies or closed connections, and the
    // server keeps serving.
    let mut r = kith::generate::Rng::new(5);
    for _ in 0..200 {
        let len = 1 + r.below(200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
        let mut s = TcpStream::connect(srv.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let _ = s.write_all(&bytes);
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
    }
    alive(srv.addr);
    srv.stop().unwrap();
}

#[test]
fn a_password_guards_everything_but_auth_hello_ping_and_quit() {
    let cfg = ServerConfig {
        password: Some("s3cret".into()),
        ..Default::default()
    };
    let srv = start_with(Db::temporary().unwrap(), cfg);
    let (out, _) = raw(srv.addr, b"*2\r\n$10\r\nENTITY.GET\r\n$1\r\n1\r\nPING\r\nAUTH wrong\r\nAUTH s3cret\r\n*2\r\n$10\r\nENTITY.GET\r\n$1\r\n1\r\nQUIT\r\n");
    let text = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("-NOAUTH"), "{text}");
    assert_eq!(lines[1], "+PONG");
    assert!(lines[2].starts_with("-WRONGPASS"), "{text}");
    assert_eq!(lines[3], "+OK");
    assert_eq!(lines[4], "$-1");
    assert_eq!(lines[5], "+OK");
    // HELLO 3 with AUTH authenticates and switches to RESP3 (null is `_`).
    let (out, _) = raw(
        srv.addr,
        b"HELLO 3 AUTH default s3cret\r\n*2\r\n$10\r\nENTITY.GET\r\n$1\r\n1\r\nQUIT\r\n",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with('%'), "{text}");
    assert!(text.contains("_\r\n+OK\r\n"), "{text}");
    let mut c = Client::connect_with_password(srv.addr, "s3cret").unwrap();
    c.ping().unwrap();
    assert!(matches!(
        Client::connect_with_password(srv.addr, "nope"),
        Err(ClientError::Server { .. })
    ));
}

#[test]
fn the_connection_limit_refuses_with_an_error_not_a_hang() {
    let cfg = ServerConfig {
        max_connections: 3,
        ..Default::default()
    };
    let srv = start_with(Db::temporary().unwrap(), cfg);
    let held: Vec<Client> = (0..3)
        .map(|_| {
            let mut c = Client::connect(srv.addr).unwrap();
            c.ping().unwrap();
            c
        })
        .collect();
    let (out, closed) = raw(srv.addr, b"PING\r\n");
    assert!(
        String::from_utf8_lossy(&out).starts_with("-ERR max number of clients reached"),
        "{out:?}"
    );
    assert!(closed);
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    alive(srv.addr);
}

#[test]
fn a_thousand_connections_are_held_at_once() {
    raise_fd_limit();
    let srv = start();
    let mut clients: Vec<Client> = (0..1000)
        .map(|_| Client::connect(srv.addr).unwrap())
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let r = c.command(&[b"ECHO", i.to_string().as_bytes()]).unwrap();
        assert_eq!(r, kith::server::Frame::Bulk(i.to_string().into_bytes()));
    }
    let mut c = Client::connect(srv.addr).unwrap();
    let info = c.command(&[b"INFO", b"clients"]).unwrap();
    let kith::server::Frame::Bulk(b) = info else {
        panic!()
    };
    assert!(
        String::from_utf8_lossy(&b).contains("connected_clients:1001"),
        "{}",
        String::from_utf8_lossy(&b)
    );
}

fn raise_fd_limit() {
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < 4096 {
            l.rlim_cur = l.rlim_max.min(8192);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[test]
fn shutdown_finishes_acknowledged_writes_and_flushes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::builder()
        .path(tmp.path())
        .durability(kith::Durability::Background { every_ms: 60_000 })
        .open()
        .unwrap();
    let srv = start_with(db, ServerConfig::default());
    let mut c = Client::connect(srv.addr).unwrap();
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(
            c.create(NewEntity::person().identifier("s", i.to_string()))
                .unwrap(),
        );
    }
    srv.stop().unwrap();
    drop(c);
    let db = Db::open(tmp.path()).unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(db.lookup("s", &i.to_string()).unwrap(), Some(*id));
    }
}

#[test]
fn sigterm_stops_kith_serve_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kith"))
        .args([
            "--db",
            dir.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--background-flush-ms",
            "60000",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"));
    let mut c = Client::connect(addr).unwrap();
    let id = c
        .create(NewEntity::person().identifier("crm", "T-1"))
        .unwrap();
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let db = Db::open(&dir).unwrap();
    assert_eq!(
        db.lookup("crm", "T-1").unwrap(),
        Some(id),
        "acknowledged write lost at shutdown"
    );
}

fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var_os("KITH_SKIP_REDIS_TOOLS").is_none() {
        panic!("{name} is not installed (apt-get install redis-tools; .ci/run does), or set KITH_SKIP_REDIS_TOOLS=1");
    }
    found
}

#[test]
fn redis_cli_talks_to_kith_unchanged() {
    let Some(cli) = tool("redis-cli") else { return };
    let srv = start();
    let port = srv.addr.port().to_string();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(&cli)
            .args(["-p", &port])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(run(&["PING"]), "PONG");
    let id = run(&[
        "ENTITY.CREATE",
        "person",
        r#"{"attrs":{"given_name":"Ann"},"identifiers":[{"system":"crm","key":"C-9"}]}"#,
    ]);
    assert_eq!(run(&["LOOKUP", "crm", "C-9"]), id);
    assert!(run(&["ENTITY.GET", &id]).contains(r#""given_name":"Ann""#));
    assert!(run(&["INFO"]).contains("entities_person:1"));
    assert!(run(&["INFO", "persistence"]).contains("storage_engine:sled"));
    assert_eq!(run(&["SELECT", "0"]), "OK");
    assert_eq!(run(&["CLIENT", "SETNAME", "me"]), "OK");
    assert!(run(&["COMMAND", "COUNT"]).parse::<u32>().unwrap() > 10);
    assert!(run(&["-3", "HELLO", "3"]).contains("kith"));
}

#[test]
fn redis_benchmark_runs_against_kith() {
    let Some(bench) = tool("redis-benchmark") else {
        return;
    };
    let db = Db::temporary().unwrap();
    for i in 0..100 {
        db.create(NewEntity::person().identifier("s", i.to_string()))
            .unwrap();
    }
    let srv = start_with(db, ServerConfig::default());
    let o = std::process::Command::new(bench)
        .args([
            "-p",
            &srv.addr.port().to_string(),
            "-n",
            "2000",
            "-c",
            "10",
            "-r",
            "100",
            "-P",
            "4",
            "--csv",
            "ENTITY.GET",
            "__rand_int__",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{o:?}");
    assert!(out.contains("ENTITY.GET"), "{out}");
    let mut c = Client::connect(srv.addr).unwrap();
    let info = c.command(&[b"INFO", b"stats"]).unwrap();
    let kith::server::Frame::Bulk(b) = info else {
        panic!()
    };
    let processed: u64 = String::from_utf8_lossy(&b)
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(processed >= 2000, "{processed}");
}

#[test]
fn queries_on_a_record_id_answer_for_its_customer_over_the_wire() {
    let db = Db::temporary().unwrap();
    let mut fields = kith::Attrs::new();
    fields.insert(attrs::GIVEN_NAME.into(), "Ann".into());
    fields.insert(attrs::FAMILY_NAME.into(), "Lee".into());
    db.upsert_record(
        "crm",
        "7",
        kith::EntityKind::PERSON,
        fields,
        &kith::resolve::ResolveConfig::default(),
    )
    .unwrap();
    let record = db.lookup("crm", "7").unwrap().unwrap();
    let customer = db.customer_of_record("crm", "7").unwrap().unwrap();
    assert_ne!(record, customer);
    let hh = db.create(NewEntity::household()).unwrap();
    db.relate(customer, RelKind::MEMBER_OF, hh, EdgeProps::new())
        .unwrap();
    let srv = start_with(db, ServerConfig::default());
    let mut c = Client::connect(srv.addr).unwrap();
    let r = record.0.to_string();
    let g = json(c.command(&[b"GUARANTORS", r.as_bytes()]).unwrap());
    assert_eq!(g["customer"], customer.0, "the answer names the customer");
    let h = json(c.command(&[b"HOUSEHOLD", r.as_bytes()]).unwrap());
    assert_eq!(h[0]["household"]["id"], hh.0);
    let x = json(c.command(&[b"CONTEXT", r.as_bytes()]).unwrap());
    assert_eq!(x["customer"]["id"], customer.0);
    match c.command(&[b"HOUSEHOLD", b"999999"]) {
        Err(ClientError::Server { code, message }) => {
            assert_eq!(code, "NOTFOUND");
            assert!(message.contains("999999"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    srv.stop().unwrap();
}

#[test]
fn the_reply_cache_never_answers_stale_under_concurrent_writes() {
    never_stale_on(StorageEngine::Sled);
}

#[test]
fn the_reply_cache_never_answers_stale_on_fjall_and_redb() {
    never_stale_on(StorageEngine::Fjall);
    never_stale_on(StorageEngine::Redb);
}

/// Random interleavings of writes and reads from several connections,
/// every reply compared with the uncached answer, over `engine`.
fn never_stale_on(engine: StorageEngine) {
    let db = Db::builder().engine(engine).temporary().open().unwrap();
    let ids: Vec<kith::EntityId> = (0..24)
        .map(|i| {
            db.create(NewEntity::person().attr(attrs::GIVEN_NAME, format!("P{i}")))
                .unwrap()
        })
        .collect();
    // A small cache, so that evictions happen too.
    let config = ServerConfig {
        reply_cache_bytes: 16 << 10,
        ..Default::default()
    };
    let srv = start_with(db.clone(), config);
    let addr = srv.addr;
    std::thread::scope(|s| {
        for t in 0..4usize {
            let ids = &ids;
            s.spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                let mine = &ids[t * 6..t * 6 + 6];
                let mut r = kith::generate::Rng::new(t as u64 + 1);
                for n in 0..300u64 {
                    let own = mine[r.below(6) as usize];
                    let any = ids[r.below(ids.len() as u64) as usize];
                    let (so, sa) = (own.0.to_string(), any.0.to_string());
                    match r.below(10) {
                        0..=3 => {
                            // A write, then this connection's read of it:
                            // never the cached value from before.
                            let patch = format!(r#"{{"set":{{"n":{n}}}}}"#);
                            c.command(&[b"ENTITY.UPDATE", so.as_bytes(), patch.as_bytes()])
                                .unwrap();
                            let got = json(c.command(&[b"ENTITY.GET", so.as_bytes()]).unwrap());
                            assert_eq!(got["attrs"]["n"], n, "stale after a write: {got}");
                        }
                        4..=6 => {
                            let g = c.command(&[b"ENTITY.GET", sa.as_bytes()]).unwrap();
                            assert_eq!(json(g)["id"], any.0);
                        }
                        7 | 8 => {
                            c.command(&[b"CONTEXT", sa.as_bytes()]).unwrap();
                        }
                        _ => {
                            c.command(&[b"REL.ADD", so.as_bytes(), b"SPOUSE_OF", sa.as_bytes()])
                                .unwrap();
                            let ctx = json(c.command(&[b"CONTEXT", so.as_bytes()]).unwrap());
                            let rels = ctx["relationships"].as_array().unwrap();
                            assert!(
                                rels.iter().any(|x| x["other"]["id"] == any.0) || own == any,
                                "the new relationship is missing from {ctx}"
                            );
                        }
                    }
                }
            });
        }
    });
    // Quiet again: every cached reply equals the uncached answer.
    let mut c = Client::connect(addr).unwrap();
    for id in &ids {
        let s = id.0.to_string();
        let wire = json(c.command(&[b"ENTITY.GET", s.as_bytes()]).unwrap());
        let direct: serde_json::Value =
            serde_json::from_slice(&kith::json::entity_json(&db, *id).unwrap().unwrap()).unwrap();
        assert_eq!(wire, direct);
        let wire = json(c.command(&[b"CONTEXT", s.as_bytes()]).unwrap());
        let fresh = db
            .context_uncached(*id, &kith::ContextOptions::default())
            .unwrap();
        assert_eq!(wire, kith::json::context_to_json(&db, &fresh));
    }
    let mut field = |name: &str| reply_counter(&mut c, name);
    assert!(field("reply_cache_hits") > 0);
    assert!(field("reply_cache_invalidations") > 0);
    assert!(field("reply_cache_evictions") > 0);
    assert!(field("reply_cache_bytes") <= 16 << 10);
    srv.stop().unwrap();
}

/// A counter of `INFO replies`.
fn reply_counter(c: &mut Client, name: &str) -> u64 {
    let kith::server::Frame::Bulk(info) = c.command(&[b"INFO", b"replies"]).unwrap() else {
        panic!("INFO is a bulk reply")
    };
    String::from_utf8(info)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_reply_stays_while_only_relationships_change_and_a_write_renders_it_again() {
    let db = Db::temporary().unwrap();
    let ann = db
        .create(NewEntity::person().attr(attrs::GIVEN_NAME, "Ann"))
        .unwrap();
    let srv = start_with(db.clone(), ServerConfig::default());
    let mut c = Client::connect(srv.addr).unwrap();
    let id = ann.0.to_string();
    let direct = |db: &Db| -> serde_json::Value {
        serde_json::from_slice(&kith::json::entity_json(db, ann).unwrap().unwrap()).unwrap()
    };
    let before = json(c.command(&[b"ENTITY.GET", id.as_bytes()]).unwrap());
    // An interaction changes Ann's relationships, not her entity's JSON:
    // her reply stays cached (exact invalidation), and stays right.
    c.command(&[
        b"INTERACTION.ADD",
        id.as_bytes(),
        br#"{"attrs":{"channel":"web","interaction_type":"call"}}"#,
    ])
    .unwrap();
    let misses = reply_counter(&mut c, "reply_cache_misses");
    let after = json(c.command(&[b"ENTITY.GET", id.as_bytes()]).unwrap());
    assert_eq!(reply_counter(&mut c, "reply_cache_misses"), misses, "a hit");
    assert_eq!(after, before);
    assert_eq!(after, direct(&db));
    // A change to her own row drops the reply; the write thread renders it
    // again after answering the write, so the next get is a current hit.
    c.command(&[
        b"ENTITY.UPDATE",
        id.as_bytes(),
        br#"{"set":{"family_name":"Lee"}}"#,
    ])
    .unwrap();
    let mut rendered = false;
    for _ in 0..100 {
        if reply_counter(&mut c, "reply_cache_entries") >= 1 {
            rendered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rendered, "the dropped reply was rendered again");
    let misses = reply_counter(&mut c, "reply_cache_misses");
    let updated = json(c.command(&[b"ENTITY.GET", id.as_bytes()]).unwrap());
    assert_eq!(reply_counter(&mut c, "reply_cache_misses"), misses, "a hit");
    assert_eq!(updated, direct(&db), "and current");
    assert_eq!(updated["attrs"]["family_name"], "Lee");
    srv.stop().unwrap();
}
