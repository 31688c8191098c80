//! `kith changes [--from ID] [--count N] [--json] [--follow --server ADDR]`:
//! the change log, read from a database directly, or followed live from a
//! running server (XREAD BLOCK).

use kith::{ChangeId, Db};

/// One change as a line of text: `<id> <type> field=value …`.
fn line(e: &kith::ChangeEntry) -> String {
    let mut out = format!("{}", e.id);
    for (k, v) in kith::json::change_fields(e) {
        match (k, v) {
            ("type", serde_json::Value::String(t)) => out.push_str(&format!(" {t}")),
            (k, serde_json::Value::String(s)) => out.push_str(&format!(" {k}={s}")),
            (k, other) => out.push_str(&format!(" {k}={other}")),
        }
    }
    out
}

fn print(e: &kith::ChangeEntry, json: bool) {
    if json {
        println!("{}", kith::json::change_to_json(e));
    } else {
        println!("{}", line(e));
    }
}

/// Prints the changes of a local database after `from`, at most `count`.
pub(crate) fn local(
    db: &Db,
    from: &str,
    count: usize,
    json: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let after = parse_from(from)?;
    let mut position = after;
    let mut left = count;
    while left > 0 {
        let batch = db.changes().read_after(position, left.min(10_000))?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            print(e, json);
        }
        left -= batch.len();
        position = batch.last().expect("non-empty").id;
    }
    Ok(0)
}

/// Follows a running server's change log from `from` (`$`: only new ones),
/// printing each change as it is committed, until interrupted.
pub(crate) fn follow(
    server: &str,
    from: &str,
    json: bool,
) -> Result<i32, Box<dyn std::error::Error>> {
    let mut client = kith::client::Client::connect(server)?;
    let mut position = from.to_string();
    loop {
        let reply = client.command(&[
            b"XREAD",
            b"COUNT",
            b"1000",
            b"BLOCK",
            b"1000",
            b"STREAMS",
            b"kith:changes",
            position.as_bytes(),
        ])?;
        for (id, fields) in stream_entries(&reply)? {
            if json {
                let obj: serde_json::Map<String, serde_json::Value> =
                    std::iter::once(("id".to_string(), serde_json::Value::String(id.clone())))
                        .chain(fields.into_iter().map(|(k, v)| {
                            let v =
                                serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                            (k, v)
                        }))
                        .collect();
                println!("{}", serde_json::Value::Object(obj));
            } else {
                let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("{id} {}", rest.join(" "));
            }
            position = id;
        }
        if position == "$" {
            // Nothing yet: pin the position so that nothing committed
            // between two calls is missed.
            position = kith::ChangeId::ZERO.to_string();
            let r = client.command(&[b"XINFO", b"STREAM", b"kith:changes"])?;
            if let Some(last) = info_last(&r) {
                position = last;
            }
        }
    }
}

fn parse_from(from: &str) -> Result<ChangeId, Box<dyn std::error::Error>> {
    if from == "0" {
        return Ok(ChangeId::ZERO);
    }
    ChangeId::parse(from, 0)
        .ok_or_else(|| format!("--from {from:?} is not a change id (<ms>-<seq>, <ms> or 0)").into())
}

type Entry = (String, Vec<(String, String)>);

fn text(f: &kith::server::Frame) -> Option<String> {
    match f {
        kith::server::Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        kith::server::Frame::Simple(s) => Some(s.clone()),
        _ => None,
    }
}

/// The entries of an XREAD reply (RESP2 form).
fn stream_entries(reply: &kith::server::Frame) -> Result<Vec<Entry>, Box<dyn std::error::Error>> {
    use kith::server::Frame as F;
    let streams = match reply {
        F::Null => return Ok(Vec::new()),
        F::Error(e) => return Err(e.clone().into()),
        F::Array(a) => a,
        other => return Err(format!("unexpected reply {other:?}").into()),
    };
    let mut out = Vec::new();
    for s in streams {
        let F::Array(pair) = s else { continue };
        let Some(F::Array(entries)) = pair.get(1) else {
            continue;
        };
        for e in entries {
            let F::Array(parts) = e else { continue };
            let (Some(id), Some(F::Array(fv))) = (parts.first().and_then(text), parts.get(1))
            else {
                continue;
            };
            let fields = fv
                .chunks(2)
                .filter_map(|c| Some((text(&c[0])?, text(c.get(1)?)?)))
                .collect();
            out.push((id, fields));
        }
    }
    Ok(out)
}

/// `last-generated-id` of an XINFO STREAM reply.
fn info_last(reply: &kith::server::Frame) -> Option<String> {
    use kith::server::Frame as F;
    let items: Vec<&F> = match reply {
        F::Array(a) => a.iter().collect(),
        F::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    items
        .windows(2)
        .find(|w| text(w[0]).as_deref() == Some("last-generated-id"))
        .and_then(|w| text(w[1]))
}
