//! `kith import`: source files through a mapping into identity resolution,
//! and `kith export links`: the crosswalk.

use kith::resolve::{normalize, Outcome, ResolveConfig};
use kith::{Attrs, Db, EntityKind, Value};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A mapping file (TOML): how a source's rows become records. See docs/mapping.md.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The source system the keys belong to.
    pub system: String,
    /// The party kind of every record: person or organization.
    #[serde(default = "person")]
    pub kind: String,
    /// The column holding the record's key.
    pub key: String,
    /// Field delimiter (one character).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Whether the first row names the columns (otherwise columns are 1, 2, …).
    #[serde(default = "yes")]
    pub header: bool,
    /// Canonical attribute = column.
    pub columns: BTreeMap<String, String>,
    /// Canonical attributes that hold dates.
    #[serde(default)]
    pub dates: Vec<String>,
    /// Accepted date formats, tried in order: iso, compact, eu, us.
    #[serde(default = "date_formats")]
    pub date_formats: Vec<String>,
    /// For interaction files (`kind = "interaction"`): the source system of
    /// the party each row belongs to.
    #[serde(default)]
    pub party_system: Option<String>,
    /// For interaction files: the column holding the party's key in `party_system`.
    #[serde(default)]
    pub party_key: Option<String>,
    /// Canonical attributes that hold timestamps (RFC 3339, or a date: midnight UTC).
    #[serde(default)]
    pub timestamps: Vec<String>,
    /// What to do with a date that does not parse: `reject` the row (the
    /// default) or `keep` the text as it is (resolution compares it as text).
    #[serde(default = "reject")]
    pub invalid_dates: String,
}

fn reject() -> String {
    "reject".into()
}

fn person() -> String {
    "person".into()
}
fn comma() -> String {
    ",".into()
}
fn yes() -> bool {
    true
}
fn date_formats() -> Vec<String> {
    vec!["iso".into(), "compact".into()]
}

#[derive(Default)]
struct Summary {
    rows: u64,
    created: u64,
    linked: u64,
    merged: u64,
    possible: u64,
    unchanged: u64,
    rejected: u64,
}

/// Runs an import.
pub fn run(
    db: &Db,
    mapping_path: &Path,
    files: &[PathBuf],
    rejects: &Path,
) -> Result<i32, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(mapping_path)
        .map_err(|e| format!("cannot read {}: {e}", mapping_path.display()))?;
    let m: Mapping =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", mapping_path.display()))?;
    let kind = match m.kind.as_str() {
        "person" => EntityKind::PERSON,
        "organization" => EntityKind::ORGANIZATION,
        "interaction" => EntityKind::INTERACTION,
        other => {
            return Err(format!(
                "{}: kind must be person, organization or interaction, not {other:?}",
                mapping_path.display()
            )
            .into())
        }
    };
    let interactions = kind == EntityKind::INTERACTION;
    if interactions && (m.party_system.is_none() || m.party_key.is_none()) {
        return Err(format!(
            "{}: an interaction mapping needs party_system and party_key",
            mapping_path.display()
        )
        .into());
    }
    if m.invalid_dates != "reject" && m.invalid_dates != "keep" {
        return Err(format!(
            "{}: invalid_dates must be reject or keep",
            mapping_path.display()
        )
        .into());
    }
    if m.delimiter.len() != 1 {
        return Err(format!("{}: delimiter must be one byte", mapping_path.display()).into());
    }
    let formats: Vec<&str> = m.date_formats.iter().map(String::as_str).collect();
    let mut rej = std::io::BufWriter::new(std::fs::File::create(rejects)?);
    writeln!(rej, "file,line,reason")?;
    let config = ResolveConfig::default();
    let mut s = Summary::default();
    for file in files {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(m.delimiter.as_bytes()[0])
            .has_headers(m.header)
            .flexible(true)
            .from_path(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let columns: Vec<String> = if m.header {
            rdr.byte_headers()?
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim().to_string())
                .collect()
        } else {
            Vec::new()
        };
        let col = |name: &str| -> Result<usize, String> {
            if m.header {
                columns
                    .iter()
                    .position(|c| c == name)
                    .ok_or_else(|| format!("{}: no column {name:?}", file.display()))
            } else {
                name.parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .ok_or_else(|| {
                        format!("column {name:?} must be a number from 1 without a header")
                    })
            }
        };
        let key_col = col(&m.key)?;
        let party_col = match &m.party_key {
            Some(k) if interactions => Some(col(k)?),
            _ => None,
        };
        let mapped: Vec<(String, usize)> = m
            .columns
            .iter()
            .map(|(attr, c)| Ok((attr.clone(), col(c)?)))
            .collect::<Result<_, String>>()?;
        let width = if m.header { Some(columns.len()) } else { None };
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("importing {}", file.display()));
        let mut record = csv::ByteRecord::new();
        loop {
            let line = rdr.position().line();
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    s.rejected += 1;
                    writeln!(
                        rej,
                        "{},{line},{}",
                        file.display(),
                        csv_field(&e.to_string())
                    )?;
                    continue;
                }
            }
            s.rows += 1;
            if s.rows % 1000 == 0 {
                bar.set_position(s.rows);
                bar.tick();
            }
            let reject = |reason: String,
                          rej: &mut std::io::BufWriter<std::fs::File>|
             -> std::io::Result<()> {
                writeln!(rej, "{},{line},{}", file.display(), csv_field(&reason))
            };
            if width.is_some_and(|w| w != record.len()) {
                s.rejected += 1;
                reject(
                    format!(
                        "expected {} columns, found {}",
                        width.unwrap_or(0),
                        record.len()
                    ),
                    &mut rej,
                )?;
                continue;
            }
            let field = |i: usize| -> Result<&str, String> {
                std::str::from_utf8(record.get(i).unwrap_or(b""))
                    .map(str::trim)
                    .map_err(|_| format!("column {} is not valid UTF-8", i + 1))
            };
            let outcome = (|| -> Result<Outcome, String> {
                let key = field(key_col)?;
                if key.is_empty() {
                    return Err("missing key".into());
                }
                let mut attrs = Attrs::new();
                for (attr, i) in &mapped {
                    let v = field(*i)?;
                    if v.is_empty() {
                        continue;
                    }
                    if m.timestamps.contains(attr) {
                        let t = kith::Timestamp::parse(v)
                            .ok()
                            .or_else(|| {
                                normalize::date(v, &formats).map(|d| {
                                    kith::Timestamp::from_micros(
                                        d.days_since_epoch() as i64 * 86_400_000_000,
                                    )
                                })
                            })
                            .ok_or_else(|| format!("{attr}: {v:?} is not a timestamp"))?;
                        attrs.insert(attr.clone(), Value::Timestamp(t));
                    } else if m.dates.contains(attr) {
                        match normalize::date(v, &formats) {
                            Some(d) => {
                                attrs.insert(attr.clone(), Value::Date(d));
                            }
                            None if m.invalid_dates == "keep" => {
                                attrs.insert(attr.clone(), Value::Text(v.to_string()));
                            }
                            None => {
                                return Err(format!("{attr}: {v:?} is not a date in {formats:?}"))
                            }
                        }
                    } else {
                        attrs.insert(attr.clone(), Value::Text(v.to_string()));
                    }
                }
                if let Some(pc) = party_col {
                    return add_interaction(db, &m, key, field(pc)?, attrs);
                }
                db.upsert_record(&m.system, key, kind, attrs, &config)
                    .map_err(|e| e.to_string())
            })();
            if let Ok(Outcome::Possible { .. }) = outcome {
                s.possible += 1;
            }
            match outcome {
                Ok(Outcome::Created { .. } | Outcome::Possible { .. }) => s.created += 1,
                Ok(Outcome::Linked { .. }) => s.linked += 1,
                Ok(Outcome::Merged { merged, .. }) => {
                    s.linked += 1;
                    s.merged += merged.len() as u64;
                }
                Ok(Outcome::Unchanged { .. }) => s.unchanged += 1,
                Err(reason) => {
                    s.rejected += 1;
                    reject(reason, &mut rej)?;
                }
            }
        }
        bar.finish_and_clear();
    }
    db.flush()?;
    rej.flush()?;
    println!(
        "rows {}; records created {} (possible matches {}); linked to an existing customer {}; customers merged {}; unchanged {}; rejected {} (see {})",
        s.rows, s.created, s.possible, s.linked, s.merged, s.unchanged, s.rejected, rejects.display()
    );
    Ok(0)
}

/// One interaction row: the party is the customer of the record
/// `(party_system, party_key)`, or the entity that identifier names. The
/// interaction is named `(system, key)`, so a second import changes nothing.
fn add_interaction(
    db: &Db,
    m: &Mapping,
    key: &str,
    party_key: &str,
    attrs: Attrs,
) -> Result<Outcome, String> {
    let system = m.party_system.as_deref().unwrap_or_default();
    if party_key.is_empty() {
        return Err("missing party key".into());
    }
    let party = match db
        .customer_of_record(system, party_key)
        .map_err(|e| e.to_string())?
    {
        Some(c) => c,
        None => db
            .lookup(system, party_key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("unknown party {system}:{party_key}"))?,
    };
    if db
        .lookup(&m.system, key)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(Outcome::Unchanged { customer: party });
    }
    let mut e = kith::NewEntity::new(EntityKind::INTERACTION).identifier(m.system.clone(), key);
    e.attrs = attrs;
    db.append_interaction(party, e).map_err(|e| e.to_string())?;
    Ok(Outcome::Linked {
        customer: party,
        score: f64::INFINITY,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') || s.contains('\n') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `system,key,customer_id` for every source record.
pub fn export_links(db: &Db, out: &mut dyn Write) -> Result<i32, Box<dyn std::error::Error>> {
    writeln!(out, "system,key,customer_id")?;
    for (system, key, c) in db.links()? {
        writeln!(out, "{},{},{}", csv_field(&system), csv_field(&key), c.0)?;
    }
    Ok(0)
}

/// Applies a JSON Lines stream of record events; bad lines are reported
/// (line and reason) and skipped.
pub fn apply(db: &Db, path: &Path) -> Result<i32, Box<dyn std::error::Error>> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config = ResolveConfig::default();
    let (mut upserts, mut deletes, mut bad) = (0u64, 0u64, 0u64);
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let r = (|| -> Result<(), String> {
            let v: serde_json::Value =
                serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
            let s = |k: &str| {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .ok_or_else(|| format!("missing {k:?}"))
            };
            let (system, key) = (s("system")?, s("key")?);
            match s("op")? {
                "upsert" => {
                    let kind = match v.get("kind").and_then(|k| k.as_str()).unwrap_or("person") {
                        "person" => EntityKind::PERSON,
                        "organization" => EntityKind::ORGANIZATION,
                        other => {
                            return Err(format!(
                                "kind must be person or organization, not {other:?}"
                            ))
                        }
                    };
                    let attrs = match v.get("attrs") {
                        Some(a) => kith::json::attrs_from_json(a)?,
                        None => Attrs::new(),
                    };
                    db.upsert_record(system, key, kind, attrs, &config)
                        .map_err(|e| e.to_string())?;
                    upserts += 1;
                }
                "delete" => {
                    db.delete_record(system, key).map_err(|e| e.to_string())?;
                    deletes += 1;
                }
                other => return Err(format!("op must be upsert or delete, not {other:?}")),
            }
            Ok(())
        })();
        if let Err(reason) = r {
            bad += 1;
            eprintln!("{}:{}: {reason}", path.display(), n + 1);
        }
    }
    db.flush()?;
    println!("upserts {upserts}; deletes {deletes}; rejected {bad}");
    Ok(if bad > 0 { 1 } else { 0 })
}
