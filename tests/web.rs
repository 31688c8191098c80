#![cfg(feature = "cli")]
//! The customer page's HTTP endpoints: JSON shapes, status codes, auth,
//! bad input, the review decisions and the live event stream.
mod common;

use common::{http, start_web, web_bank, HttpReply};
use kith::resolve::ResolveConfig;
use kith::{attrs, Attrs, Db, EdgeProps, EntityId, EntityKind, Patch, RelKind, Value};
use std::net::SocketAddr;

fn get(addr: SocketAddr, target: &str) -> HttpReply {
    http(addr, "GET", target, &[], b"")
}

fn record(db: &Db, system: &str, key: &str, fields: &[(&str, &str)]) -> EntityId {
    let attrs: Attrs = fields
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    db.upsert_record(
        system,
        key,
        EntityKind::PERSON,
        attrs,
        &ResolveConfig::default(),
    )
    .unwrap()
    .customer()
}

#[test]
fn search_finds_customers_by_name_email_phone_record_and_id() {
    let (db, rich) = web_bank(150);
    let p = db.get(rich).unwrap().unwrap();
    let family = p.text(attrs::FAMILY_NAME).unwrap().to_string();
    let given = p.text(attrs::GIVEN_NAME).unwrap().to_string();
    let email = p.text(attrs::EMAIL).map(str::to_string);
    let web = start_web(db.clone(), None);
    let ids = |r: &HttpReply| -> Vec<u64> {
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect()
    };
    // A prefix of each name.
    let q = format!(
        "{} {}",
        &given[..given.len().min(3)],
        &family[..family.len().min(3)]
    );
    let r = get(web.addr, &format!("/api/search?q={}", q.replace(' ', "+")));
    assert!(ids(&r).contains(&rich.0), "{q}: {}", r.text());
    let first = &r.json()["results"][0];
    for field in ["id", "kind", "name", "city", "records", "matched_by"] {
        assert!(first.get(field).is_some(), "{field} missing: {first}");
    }
    if let Some(e) = email {
        let r = get(web.addr, &format!("/api/search?q={}", e.to_uppercase()));
        assert_eq!(ids(&r)[0], rich.0, "{}", r.text());
        assert_eq!(r.json()["results"][0]["matched_by"], "email");
    }
    let r = get(web.addr, &format!("/api/search?q={}", rich.0));
    assert_eq!(ids(&r), vec![rich.0]);
    // A source record by system:key, and a misspelt name.
    let c = record(
        &db,
        "crm",
        "C-77",
        &[
            ("given_name", "Philippa"),
            ("family_name", "Quackenbush"),
            ("birth_date", "1971-04-05"),
            ("phone", "+1 555 010 7788"),
        ],
    );
    assert_eq!(ids(&get(web.addr, "/api/search?q=crm:C-77")), vec![c.0]);
    let r = get(web.addr, "/api/search?q=quakenbush");
    assert_eq!(ids(&r), vec![c.0]);
    assert_eq!(r.json()["results"][0]["matched_by"], "name (close)");
    assert_eq!(r.json()["results"][0]["records"], 1);
    assert_eq!(
        ids(&get(web.addr, "/api/search?q=%2B1+(555)+010-7788")),
        vec![c.0]
    );
    assert_eq!(
        ids(&get(web.addr, "/api/search?q=quack&by=name")),
        vec![c.0]
    );
    assert!(ids(&get(web.addr, "/api/search?q=zzzzzz")).is_empty());
    // A limit that cuts says so.
    let r = get(web.addr, "/api/search?q=a&limit=2");
    assert_eq!(ids(&r).len(), 2);
    assert!(
        r.json()["truncated"].as_str().unwrap().contains("best 2"),
        "{}",
        r.text()
    );
}

#[test]
fn bad_queries_are_4xx_with_a_message() {
    let (db, _) = web_bank(20);
    let web = start_web(db, None);
    for (target, status, says) in [
        ("/api/search", 400, "q is required"),
        ("/api/search?q=", 400, "q is empty"),
        ("/api/search?q=+++", 400, "q is empty"),
        ("/api/search?q=ann&by=nmae", 400, "did you mean \"name\""),
        ("/api/search?q=ann&limit=0", 400, "limit must be"),
        ("/api/search?q=ann&limit=lots", 400, "limit must be"),
        ("/api/party/abc", 400, "not an entity id"),
        ("/api/party/0", 400, "not an entity id"),
        (
            "/api/party/99999999999999999999999",
            400,
            "not an entity id",
        ),
        ("/api/party/987654", 404, "no entity with id 987654"),
        ("/api/party/987654/graph", 404, "no entity with id 987654"),
        ("/api/party/1/graph?hops=3", 400, "hops must be"),
        ("/api/nothing", 404, "no endpoint"),
    ] {
        let r = get(web.addr, target);
        assert_eq!(r.status, status, "{target}: {}", r.text());
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(says), "{target}: {msg}");
    }
    let long = "a".repeat(300);
    let r = get(web.addr, &format!("/api/search?q={long}"));
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("longer than 256"));
    let huge = "b".repeat(20_000);
    let r = get(web.addr, &format!("/api/search?q={huge}"));
    assert_eq!(r.status, 414, "{}", r.text());
    // Broken percent-encoding and bytes that are not UTF-8 are read, not fatal.
    assert_eq!(get(web.addr, "/api/search?q=%zz%ff%c3").status, 200);
    let r = http(web.addr, "PUT", "/api/party/1", &[], b"{}");
    assert_eq!(r.status, 405, "{}", r.text());
    let r = http(web.addr, "POST", "/api/search?q=x", &[], b"");
    assert_eq!(r.status, 405, "{}", r.text());
}

#[test]
fn nothing_outside_the_embedded_files_is_served() {
    let (db, _) = web_bank(20);
    let web = start_web(db, None);
    for target in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/../../etc/passwd",
        "/etc/passwd",
        "//etc/passwd",
        "/assets/",
        "/assets/app.js/",
        "/src/http/mod.rs",
        "/party/1/../../Cargo.toml",
        "/party/",
        "/party/-1",
    ] {
        let r = get(web.addr, target);
        assert_eq!(r.status, 404, "{target}: {}", r.text());
        assert!(
            !r.text().contains("[package]") && !r.text().contains("root:"),
            "{target}"
        );
    }
    let r = get(web.addr, "/assets/app.js");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = get(web.addr, "/assets/cytoscape.min.js");
    assert!(r.body.len() > 100_000, "the graph library is embedded");
    let r = get(web.addr, "/party/42");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<main id=\"main\""));
}

#[test]
fn a_party_answers_with_its_whole_context() {
    let (db, rich) = web_bank(150);
    let web = start_web(db.clone(), None);
    let r = get(web.addr, &format!("/api/party/{}", rich.0));
    assert_eq!(r.status, 200, "{}", r.text());
    let p = r.json();
    assert_eq!(p["id"], rich.0);
    assert_eq!(p["kind"], "person");
    assert!(!p["name"].as_str().unwrap().is_empty());
    assert_eq!(p["context"]["customer"]["id"], rich.0);
    let accounts = p["accounts"].as_array().unwrap();
    assert!(!accounts.is_empty(), "{p}");
    assert!(accounts[0]["account"]["attrs"]["account_number"].is_string());
    assert!(accounts[0]["co_owners"].is_array());
    assert!(!p["context"]["households"].as_array().unwrap().is_empty());
    for field in [
        "guarantors",
        "timeline",
        "possible_matches",
        "records",
        "identifiers_by_system",
        "lineage",
        "names",
        "actions",
    ] {
        assert!(!p[field].is_null(), "{field} missing");
    }
    assert!(p["timeline"].as_array().unwrap().len() >= 2);
    assert_eq!(p["live"], true);
    // A limit on the timeline says it cut.
    let r = get(web.addr, &format!("/api/party/{}?interactions=1", rich.0)).json();
    assert_eq!(r["timeline"].as_array().unwrap().len(), 1);
    assert!(r["timeline_truncated"].is_string());
    // The graph: the party at the centre, its relationships around it.
    let g = get(web.addr, &format!("/api/party/{}/graph", rich.0)).json();
    let nodes = g["nodes"].as_array().unwrap();
    assert!(nodes
        .iter()
        .any(|n| n["id"] == rich.0 && n["center"] == true));
    assert!(nodes.len() > 2, "{g}");
    assert!(!g["edges"].as_array().unwrap().is_empty());
    let g2 = get(web.addr, &format!("/api/party/{}/graph?hops=2", rich.0)).json();
    assert!(g2["nodes"].as_array().unwrap().len() >= nodes.len());
    let cut = get(
        web.addr,
        &format!("/api/party/{}/graph?hops=2&max_nodes=2", rich.0),
    )
    .json();
    assert!(cut["truncated"].is_string(), "{cut}");
    // An account is not a party: 404 naming its owners.
    let acct = accounts[0]["account"]["id"].as_u64().unwrap();
    let r = get(web.addr, &format!("/api/party/{acct}"));
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains(&rich.0.to_string()),
        "{}",
        r.text()
    );
}

#[test]
fn records_explain_and_review_decisions_merge_or_separate() {
    let db = Db::temporary().unwrap();
    let a = record(
        &db,
        "crm",
        "1",
        &[
            ("given_name", "Rosalind"),
            ("family_name", "Okafor"),
            ("birth_date", "1980-01-02"),
            ("email", "ros@example.com"),
        ],
    );
    let a2 = record(
        &db,
        "web",
        "w1",
        &[
            ("given_name", "Rosalind"),
            ("family_name", "Okafor"),
            ("birth_date", "1980-01-02"),
            ("email", "ros@example.com"),
        ],
    );
    assert_eq!(a, a2);
    let b = record(
        &db,
        "billing",
        "9",
        &[
            ("given_name", "Ros"),
            ("family_name", "Okafor-Lin"),
            ("birth_date", "1991-07-30"),
            ("city", "Leeds"),
        ],
    );
    assert_ne!(a, b);
    db.relate(
        b,
        RelKind::POSSIBLY_SAME,
        a,
        EdgeProps::new().attr("score", Value::Int(61)),
    )
    .unwrap();
    let web = start_web(db.clone(), None);
    let p = get(web.addr, &format!("/api/party/{}", a.0)).json();
    assert_eq!(p["records"].as_array().unwrap().len(), 2);
    assert!(
        p["records"][0]["explain"]["comparisons"]
            .as_array()
            .unwrap()
            .len()
            == 1,
        "{}",
        p["records"]
    );
    assert!(!p["lineage"].as_array().unwrap().is_empty());
    assert_eq!(p["identifiers_by_system"]["crm"][0], "1");
    let m = &p["possible_matches"][0];
    assert_eq!(m["id"], b.0);
    assert_eq!(m["score"], 0.61);
    // "Not the same", then "same".
    let r = http(
        web.addr,
        "POST",
        &format!("/api/party/{}/apart/{}", a.0, b.0),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http(
        web.addr,
        "POST",
        &format!("/api/party/{}/same/{}", a.0, b.0),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let survivor = r.json()["customer"].as_u64().unwrap();
    let other = if survivor == a.0 { b.0 } else { a.0 };
    let gone = get(web.addr, &format!("/api/party/{other}")).json();
    assert_eq!(gone["merged_into"], survivor, "{gone}");
    let r = get(web.addr, &format!("/api/party/{survivor}")).json();
    assert_eq!(r["records"].as_array().unwrap().len(), 3);
    // Deciding on oneself, or on a party with no records, is refused.
    let r = http(
        web.addr,
        "POST",
        &format!("/api/party/{survivor}/same/{survivor}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
    let bare = db
        .create(kith::NewEntity::person().attr(attrs::GIVEN_NAME, "Solo"))
        .unwrap();
    let r = http(
        web.addr,
        "POST",
        &format!("/api/party/{survivor}/same/{}", bare.0),
        &[],
        b"",
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("no source records"));
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn with_a_password_everything_but_the_login_needs_a_session() {
    let (db, rich) = web_bank(20);
    let web = start_web(db, Some("s3cret"));
    let r = get(web.addr, "/api/search?q=a");
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].as_str().unwrap().contains("log in"));
    let r = get(web.addr, &format!("/api/party/{}", rich.0));
    assert_eq!(r.status, 401);
    let r = get(web.addr, "/");
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = get(web.addr, "/assets/app.js");
    assert_eq!(r.status, 303);
    assert_eq!(
        get(web.addr, "/assets/app.css").status,
        200,
        "the login page's style is public"
    );
    let r = get(web.addr, "/login");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("type=\"password\""));
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = http(web.addr, "POST", "/login", &form, b"password=wrong");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/login?failed=1"))
    );
    assert!(r.header("set-cookie").is_none());
    let r = http(web.addr, "POST", "/login", &form, b"password=s3cret");
    assert_eq!(r.status, 303);
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let with = [("Cookie", session.as_str())];
    assert_eq!(
        http(web.addr, "GET", "/api/search?q=a", &with, b"").status,
        200
    );
    assert_eq!(http(web.addr, "GET", "/", &with, b"").status, 200);
    let forged = [("Cookie", "kith_session=00000000000000000000000000000000")];
    assert_eq!(
        http(web.addr, "GET", "/api/search?q=a", &forged, b"").status,
        401
    );
    let bearer = [("Authorization", "Bearer s3cret")];
    assert_eq!(
        http(web.addr, "GET", "/api/search?q=a", &bearer, b"").status,
        200
    );
    let wrong = [("Authorization", "Bearer s3cre")];
    assert_eq!(
        http(web.addr, "GET", "/api/search?q=a", &wrong, b"").status,
        401
    );
    // Logging out ends the session.
    assert_eq!(http(web.addr, "POST", "/logout", &with, b"").status, 303);
    assert_eq!(
        http(web.addr, "GET", "/api/search?q=a", &with, b"").status,
        401
    );
    // A huge login body is refused.
    let big = vec![b'x'; 100_000];
    assert_eq!(http(web.addr, "POST", "/login", &form, &big).status, 413);
}

#[test]
fn an_open_event_stream_hears_a_change_to_its_customer() {
    use std::io::{BufRead, BufReader, Write};
    let (db, rich) = web_bank(40);
    let web = start_web(db.clone(), None);
    let mut s = std::net::TcpStream::connect(web.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET /api/party/{}/events HTTP/1.1\r\nHost: x\r\n\r\n",
        rich.0
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    let mut head = String::new();
    while r.read_line(&mut line).unwrap() > 0 {
        head.push_str(&line);
        if line.starts_with(": following") {
            break;
        }
        line.clear();
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    // A change to someone else is not sent; one to the customer is.
    let other = db
        .list(EntityKind::PERSON, None, 1_000)
        .unwrap()
        .ids
        .into_iter()
        .find(|&p| {
            p != rich
                && !db
                    .context(rich)
                    .unwrap()
                    .households
                    .iter()
                    .any(|h| h.members.iter().any(|(m, _)| m.id == p))
        })
        .unwrap();
    db.update(other, Patch::new().set("segment", "other"))
        .unwrap();
    db.update(rich, Patch::new().set(attrs::TIER, "platinum"))
        .unwrap();
    let data = loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "the stream ended");
        if let Some(d) = line.strip_prefix("data: ") {
            break d.trim().to_string();
        }
    };
    let event: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(event["customer"], rich.0, "{event}");
    // An unknown customer has no stream.
    assert_eq!(get(web.addr, "/api/party/987654/events").status, 404);
}
