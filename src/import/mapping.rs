//! Mapping files (TOML): how a source's rows become records, entities,
//! relationships or interactions. Every option is documented in
//! docs/mapping.md; this module only parses and checks them, and turns one
//! row into canonical attributes.

use crate::resolve::compare::{Rules, Weights};
use crate::resolve::{normalize, ResolveConfig};
use crate::{Attrs, Decimal, Timestamp, Value};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A mapping file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The source system the keys belong to.
    pub system: String,
    /// What each row is: `person`, `organization` (source records resolved
    /// into customers), `interaction`, `relationship`, or another entity
    /// kind (`account`, `household`, a registered kind) stored as named.
    #[serde(default = "person")]
    pub kind: String,
    /// A column holding each row's kind, read through `kinds`.
    #[serde(default)]
    pub kind_column: Option<String>,
    /// Value table of `kind_column`: the source's value = the kind.
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// The column holding the record's key (not needed for relationships).
    #[serde(default)]
    pub key: Option<String>,
    /// `csv` (the default) or `jsonl` (one JSON object per line).
    #[serde(default = "csv_format")]
    pub format: String,
    /// CSV field delimiter (one byte).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Whether the first CSV row names the columns (otherwise columns are 1, 2, …).
    #[serde(default = "yes")]
    pub header: bool,
    /// Canonical attribute = column, `{ join = [columns], with = " " }`, or
    /// `{ value = "…" }` (a constant).
    #[serde(default)]
    pub columns: BTreeMap<String, Source>,
    /// Transforms per canonical attribute, applied in order: trim, lower,
    /// upper, title, digits, alnum, collapse.
    #[serde(default)]
    pub transforms: BTreeMap<String, Vec<String>>,
    /// Split a full-name column into given, middle and family names.
    #[serde(default)]
    pub split_name: Option<SplitName>,
    /// Split a full address line into house number, street, unit, city,
    /// region and postal code.
    #[serde(default)]
    pub split_address: Option<SplitAddress>,
    /// Canonical attributes that hold dates.
    #[serde(default)]
    pub dates: Vec<String>,
    /// Accepted date formats, tried in order: iso, compact, eu, us.
    #[serde(default = "date_formats")]
    pub date_formats: Vec<String>,
    /// What to do with a date that does not parse: `reject` or `keep`.
    #[serde(default = "reject")]
    pub invalid_dates: String,
    /// Canonical attributes that hold timestamps.
    #[serde(default)]
    pub timestamps: Vec<String>,
    /// Canonical attributes (or relationship properties) that hold exact decimals.
    #[serde(default)]
    pub decimals: Vec<String>,
    /// Canonical attributes that hold integers.
    #[serde(default)]
    pub integers: Vec<String>,
    /// Country calling code for phones written without one (`"61"`, `"1"`).
    #[serde(default)]
    pub phone_country: Option<String>,
    /// The source's trust rank for survivorship (higher wins).
    #[serde(default)]
    pub trust: Option<i64>,
    /// Trust ranks for single attributes, overriding `trust`.
    #[serde(default)]
    pub trust_by_attribute: BTreeMap<String, i64>,
    /// Interaction files: the system of the party each row belongs to.
    #[serde(default)]
    pub party_system: Option<String>,
    /// Interaction files: the column holding the party's key.
    #[serde(default)]
    pub party_key: Option<String>,
    /// Relationship files: the two endpoints and the kind.
    #[serde(default)]
    pub relationship: Option<RelationshipMap>,
    /// Resolution thresholds, weights and blocking keys.
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

/// Where an attribute comes from.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum Source {
    /// One column.
    Column(String),
    /// Several columns joined.
    Join {
        /// The columns, in order; empty ones are skipped.
        join: Vec<String>,
        /// The separator (a space by default).
        #[serde(default = "space")]
        with: String,
    },
    /// Each column one value of a multi-valued attribute (`phone = { each =
    /// ["phone_home", "phone_mobile"] }`): the non-empty ones, each
    /// converted like a cell, stored as a list when there are several.
    Each {
        /// The columns, in order.
        each: Vec<String>,
    },
    /// The same value on every row (`product_type = { value = "loan" }`),
    /// converted like a cell (dates, decimals, transforms).
    Constant {
        /// The value.
        value: String,
    },
}

/// Splitting a full name.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SplitName {
    /// The column holding `Given Middle Family` or `Family, Given Middle`.
    pub column: String,
}

/// Splitting a full address line ([`super::address::split_address`]).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SplitAddress {
    /// The column holding the whole address line.
    pub column: String,
}

/// The attributes a relationship endpoint may be named by (`from_by`,
/// `to_by`): those whose index names one party.
pub const ENDPOINT_INDEXES: &[&str] = &[
    "email",
    "phone",
    "national_id",
    "tax_id",
    "account_number",
    "registration_number",
];

/// The index of an endpoint attribute; an unknown one is an error naming
/// the closest.
pub fn endpoint_index(by: &str) -> Result<crate::Index, String> {
    let index = match by {
        "email" => crate::Index::Email,
        "phone" => crate::Index::Phone,
        "national_id" => crate::Index::NationalId,
        "tax_id" => crate::Index::TaxId,
        "account_number" => crate::Index::AccountNumber,
        "registration_number" => crate::Index::RegistrationNumber,
        _ => {
            let close = crate::error::did_you_mean(by, ENDPOINT_INDEXES);
            return Err(format!(
                "{by:?} names no identifying attribute (one of {}){close}",
                ENDPOINT_INDEXES.join(", ")
            ));
        }
    };
    Ok(index)
}

/// The endpoints and kind of a relationship file's rows.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RelationshipMap {
    /// System of the start record (or entity); or give `from_by`.
    #[serde(default)]
    pub from_system: Option<String>,
    /// The start named by an identifying attribute instead of a system
    /// (`email`, `phone`, `national_id`, `tax_id`, `account_number`,
    /// `registration_number`): `from_key`'s column holds its value.
    #[serde(default)]
    pub from_by: Option<String>,
    /// Column holding the start's key (or attribute value).
    pub from_key: String,
    /// System of the end record (or entity); or give `to_by`.
    #[serde(default)]
    pub to_system: Option<String>,
    /// The end named by an identifying attribute, like `from_by`.
    #[serde(default)]
    pub to_by: Option<String>,
    /// Column holding the end's key (or attribute value).
    pub to_key: String,
    /// The relationship kind (`OWNS`, `GUARANTEES`, a user-defined kind).
    #[serde(default)]
    pub kind: Option<String>,
    /// A column holding the kind, read through `kinds`.
    #[serde(default)]
    pub kind_column: Option<String>,
    /// Value table of `kind_column`.
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// Column of the first day the relationship holds.
    #[serde(default)]
    pub since: Option<String>,
    /// Column of the last day it holds.
    #[serde(default)]
    pub until: Option<String>,
}

/// Resolution settings of a mapping.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// Score that links a record to a customer.
    pub match_threshold: Option<f64>,
    /// Score that records a possible match.
    pub possible_threshold: Option<f64>,
    /// Blocking keys shared by more records are skipped.
    pub max_block: Option<usize>,
    /// Blocking-key families in use.
    pub blocking: Option<Vec<String>>,
    /// Vetoes in use (`[]`: none); see `kith::resolve::compare::VETOES`.
    pub vetoes: Option<Vec<String>>,
    /// `[resolution.weights.person] email = [exact, close, partial, disagree]`.
    #[serde(default)]
    pub weights: BTreeMap<String, BTreeMap<String, [f64; 4]>>,
}

fn person() -> String {
    "person".into()
}
fn csv_format() -> String {
    "csv".into()
}
fn comma() -> String {
    ",".into()
}
fn space() -> String {
    " ".into()
}
fn yes() -> bool {
    true
}
fn reject() -> String {
    "reject".into()
}
fn date_formats() -> Vec<String> {
    vec!["iso".into(), "compact".into()]
}

const TRANSFORMS: &[&str] = &[
    "trim", "lower", "upper", "title", "digits", "alnum", "collapse",
];
const DATE_FORMATS: &[&str] = &["iso", "compact", "eu", "us", "month"];

impl Mapping {
    /// Reads and checks a mapping file: every problem is named with the file.
    pub fn load(path: &std::path::Path) -> Result<Mapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Mapping::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks the text of a mapping file.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = toml::from_str(text).map_err(|e| e.to_string())?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), String> {
        if self.format != "csv" && self.format != "jsonl" {
            return Err(format!(
                "format must be csv or jsonl, not {:?}",
                self.format
            ));
        }
        if self.delimiter.len() != 1 {
            return Err("delimiter must be one byte".into());
        }
        if self.invalid_dates != "reject" && self.invalid_dates != "keep" {
            return Err("invalid_dates must be reject or keep".into());
        }
        for f in &self.date_formats {
            if !DATE_FORMATS.contains(&f.as_str()) {
                return Err(format!(
                    "unknown date format {f:?}; known: {DATE_FORMATS:?}"
                ));
            }
        }
        for (attr, ts) in &self.transforms {
            for t in ts {
                if !TRANSFORMS.contains(&t.as_str()) {
                    return Err(format!(
                        "transform {t:?} of {attr} is unknown; known: {TRANSFORMS:?}"
                    ));
                }
            }
        }
        if self.kind_column.is_some() && self.kinds.is_empty() {
            return Err("kind_column needs a [kinds] value table".into());
        }
        if self.format == "jsonl" {
            for c in self.columns_read() {
                if super::jsonpath::is_path(&c) {
                    super::jsonpath::Path::parse(&c)?;
                }
            }
        }
        match self.kind.as_str() {
            "relationship" => {
                let r = self
                    .relationship
                    .as_ref()
                    .ok_or("a relationship mapping needs a [relationship] table")?;
                if r.kind.is_none() == r.kind_column.is_none() {
                    return Err("[relationship] needs exactly one of kind and kind_column".into());
                }
                if r.kind_column.is_some() && r.kinds.is_empty() {
                    return Err("[relationship] kind_column needs a kinds value table".into());
                }
                for (end, system, by) in [
                    ("from", &r.from_system, &r.from_by),
                    ("to", &r.to_system, &r.to_by),
                ] {
                    if system.is_some() == by.is_some() {
                        return Err(format!(
                            "[relationship] needs exactly one of {end}_system (a record or entity by its key) and {end}_by (a party by {})",
                            ENDPOINT_INDEXES.join(", ")
                        ));
                    }
                    if let Some(by) = by {
                        endpoint_index(by).map_err(|e| format!("[relationship] {end}_by: {e}"))?;
                    }
                }
            }
            "interaction" => {
                if self.party_system.is_none() || self.party_key.is_none() {
                    return Err("an interaction mapping needs party_system and party_key".into());
                }
                if self.key.is_none() {
                    return Err("an interaction mapping needs key".into());
                }
            }
            _ => {
                if self.key.is_none() {
                    return Err(
                        "the mapping needs key (the column holding each record's key)".into(),
                    );
                }
            }
        }
        if let Some(c) = &self.phone_country {
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "phone_country must be digits, such as \"61\", not {c:?}"
                ));
            }
        }
        self.config()?;
        Ok(())
    }

    /// The resolution settings.
    pub fn config(&self) -> Result<ResolveConfig, String> {
        let mut c = ResolveConfig::default();
        let Some(r) = &self.resolution else {
            return Ok(c);
        };
        if let Some(t) = r.match_threshold {
            c.match_threshold = t;
        }
        if let Some(t) = r.possible_threshold {
            c.possible_threshold = t;
        }
        if c.possible_threshold > c.match_threshold {
            return Err("possible_threshold must not exceed match_threshold".into());
        }
        if let Some(b) = r.max_block {
            c.max_block = b;
        }
        let mut rules = Rules::default();
        if let Some(b) = &r.blocking {
            rules.set_blocking(b)?;
        }
        if let Some(v) = &r.vetoes {
            rules.set_vetoes(v)?;
        }
        for (kind, fields) in &r.weights {
            for (field, w) in fields {
                rules.set_weights(
                    kind,
                    field,
                    Weights {
                        exact: w[0],
                        close: w[1],
                        partial: w[2],
                        disagree: w[3],
                    },
                )?;
            }
        }
        c.rules = rules;
        Ok(c)
    }

    /// Every column the mapping reads.
    pub fn columns_read(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.key.clone());
        out.extend(self.kind_column.clone());
        out.extend(self.party_key.clone());
        for s in self.columns.values() {
            match s {
                Source::Column(c) => out.push(c.clone()),
                Source::Join { join, .. } => out.extend(join.iter().cloned()),
                Source::Each { each } => out.extend(each.iter().cloned()),
                Source::Constant { .. } => {}
            }
        }
        if let Some(s) = &self.split_name {
            out.push(s.column.clone());
        }
        if let Some(s) = &self.split_address {
            out.push(s.column.clone());
        }
        if let Some(r) = &self.relationship {
            out.push(r.from_key.clone());
            out.push(r.to_key.clone());
            out.extend(r.kind_column.clone());
            out.extend(r.since.clone());
            out.extend(r.until.clone());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The canonical attributes of one row; `cell` reads a column ("" when empty).
    pub fn attrs(&self, cell: &dyn Fn(&str) -> Result<String, String>) -> Result<Attrs, String> {
        let mut raw: BTreeMap<String, String> = BTreeMap::new();
        if let Some(s) = &self.split_name {
            let full = cell(&s.column)?;
            let (g, m, f) = split_full_name(&full);
            for (attr, v) in [("given_name", g), ("middle_name", m), ("family_name", f)] {
                if !v.is_empty() {
                    raw.insert(attr.into(), v);
                }
            }
        }
        if let Some(s) = &self.split_address {
            let p = super::address::split_address(&cell(&s.column)?);
            for (attr, v) in [
                ("house_number", p.house_number),
                ("street", p.street),
                ("unit", p.unit),
                ("city", p.city),
                ("region", p.region),
                ("postal_code", p.postal_code),
            ] {
                if !v.is_empty() {
                    raw.insert(attr.into(), v);
                }
            }
        }
        for (attr, src) in &self.columns {
            let v = match src {
                Source::Column(c) => cell(c)?,
                Source::Constant { value } => value.clone(),
                Source::Join { join, with } => {
                    let mut parts = Vec::new();
                    for c in join {
                        let v = cell(c)?;
                        if !v.is_empty() {
                            parts.push(v);
                        }
                    }
                    parts.join(with)
                }
                Source::Each { each } => {
                    let mut parts = Vec::new();
                    for c in each {
                        let v = cell(c)?;
                        if !v.is_empty() {
                            parts.push(v);
                        }
                    }
                    parts.join(EACH)
                }
            };
            // An empty column leaves what `[split_name]` or `[split_address]`
            // found; a value wins.
            if v.trim().is_empty() && raw.contains_key(attr) {
                continue;
            }
            raw.insert(attr.clone(), v);
        }
        let formats: Vec<&str> = self.date_formats.iter().map(String::as_str).collect();
        let mut attrs = Attrs::new();
        for (attr, v) in raw {
            let one = |v: &str| -> Result<Value, String> {
                Ok(if self.timestamps.contains(&attr) {
                    Value::Timestamp(
                        Timestamp::parse(v)
                            .ok()
                            .or_else(|| {
                                normalize::date(v, &formats).map(|d| {
                                    Timestamp::from_micros(
                                        d.days_since_epoch() as i64 * 86_400_000_000,
                                    )
                                })
                            })
                            .ok_or_else(|| format!("{attr}: {v:?} is not a timestamp"))?,
                    )
                } else if self.dates.contains(&attr) {
                    match normalize::date(v, &formats) {
                        Some(d) => Value::Date(d),
                        // Only the year or the month is known: kept as such,
                        // compared as partial agreement.
                        None => match normalize::partial_date(v) {
                            Some(p) => Value::Text(p),
                            None if self.invalid_dates == "keep" => Value::Text(v.to_string()),
                            None => {
                                return Err(format!("{attr}: {v:?} is not a date in {formats:?}"))
                            }
                        },
                    }
                } else if self.decimals.contains(&attr) {
                    Value::Decimal(source_decimal(v).map_err(|why| format!("{attr}: {v:?} {why}"))?)
                } else if self.integers.contains(&attr) {
                    Value::Int(
                        v.parse()
                            .map_err(|_| format!("{attr}: {v:?} is not an integer"))?,
                    )
                } else if attr == crate::attrs::EMAIL {
                    Value::Text(bare_email(v))
                } else if attr == crate::attrs::PHONE {
                    match &self.phone_country {
                        Some(cc) => Value::Text(phone_with_country(v, cc)),
                        None => Value::Text(v.to_string()),
                    }
                } else {
                    Value::Text(v.to_string())
                })
            };
            let mut values = Vec::new();
            for part in v.split(EACH) {
                let mut part = part.to_string();
                if let Some(ts) = self.transforms.get(&attr) {
                    for t in ts {
                        part = transform(t, &part);
                    }
                }
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let value = one(part)?;
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            let value = match values.len() {
                0 => continue,
                1 => values.pop().expect("one value"),
                _ => Value::List(values),
            };
            attrs.insert(attr, value);
        }
        Ok(attrs)
    }

    /// The trust ranks of this source, as record fields.
    pub fn trust_fields(&self, attrs: &mut Attrs) {
        if let Some(t) = self.trust {
            attrs.insert(crate::attrs::TRUST.into(), Value::Int(t));
        }
        for (attr, t) in &self.trust_by_attribute {
            attrs.insert(format!("trust_{attr}"), Value::Int(*t));
        }
    }
}

/// One transform of a cell.
fn transform(t: &str, v: &str) -> String {
    match t {
        "trim" => v.trim().to_string(),
        "lower" => v.to_lowercase(),
        "upper" => v.to_uppercase(),
        "title" => v
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f
                        .to_uppercase()
                        .chain(c.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                }
            })
            .collect::<Vec<String>>()
            .join(" "),
        "digits" => v.chars().filter(char::is_ascii_digit).collect(),
        "alnum" => v.chars().filter(|c| c.is_alphanumeric()).collect(),
        "collapse" => v.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => v.to_string(),
    }
}

/// A decimal as sources write it (`60%` is 0.6): plain (`-1234.56`), with any number of
/// places (more than 18 are cut to 18, toward zero), or in scientific
/// notation (`2.868341186312864e-06`). At most 36 significant digits.
pub fn source_decimal(v: &str) -> Result<Decimal, String> {
    // A share written `60%` is 0.6 (shares are fractions).
    if let Some(pct) = v.trim().strip_suffix('%') {
        let d = source_decimal(pct.trim_end())?;
        if d.scale() > 16 {
            return Err("has too many places for a percentage".into());
        }
        return Ok(Decimal::new(d.mantissa(), d.scale() + 2));
    }
    if let Ok(d) = Decimal::parse(v) {
        return Ok(d);
    }
    let t = v.trim();
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (
            &t[..i],
            t[i + 1..]
                .parse::<i32>()
                .map_err(|_| "is not a decimal (a bad exponent)".to_string())?,
        ),
        None => (t, 0),
    };
    let (neg, body) = match mant.as_bytes().first() {
        Some(b'-') => (true, &mant[1..]),
        Some(b'+') => (false, &mant[1..]),
        _ => (false, mant),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err("is not a decimal".into());
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    // value = digits × 10^(exp - frac.len())
    let mut scale = frac.len() as i64 - exp as i64;
    let mut digits = digits.to_string();
    if scale < 0 {
        digits.push_str(&"0".repeat((-scale) as usize));
        scale = 0;
    }
    // More than 18 places: cut toward zero.
    while scale > 18 {
        digits.pop();
        scale -= 1;
    }
    if digits.len() > 36 {
        return Err("has more than 36 significant digits (the limit of a decimal)".into());
    }
    let m: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| "is not a decimal".to_string())?
    };
    Ok(Decimal::new(if neg { -m } else { m }, scale as u8))
}

/// The address of an email as sources write it: `Ann Lee <ann@x.io>`,
/// `"Lee, Ann" <ann@x.io>`, `mailto:ann@x.io` give `ann@x.io`.
pub fn bare_email(v: &str) -> String {
    let t = v.trim();
    let inner = match (t.rfind('<'), t.rfind('>')) {
        (Some(i), Some(j)) if i < j => &t[i + 1..j],
        _ => t,
    };
    let inner = inner.trim();
    inner
        .strip_prefix("mailto:")
        .or_else(|| inner.strip_prefix("MAILTO:"))
        .unwrap_or(inner)
        .trim()
        .to_string()
}

/// Separates the values of an `each` source inside one cell of the raw row.
pub(crate) const EACH: &str = "\u{1f}";

/// Titles before a name and suffixes after it, left out when a full name
/// is split (compared without dots, case-blind).
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "lord", "lady",
];
const SUFFIXES: &[&str] = &[
    "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "dds", "cpa",
];

fn is_in(list: &[&str], w: &str) -> bool {
    let w = w.trim_end_matches(['.', ',']).to_ascii_lowercase();
    list.contains(&w.as_str())
}

/// `Given Middle Family` or `Family, Given Middle` as (given, middle,
/// family), without titles (`Dr`, `Mrs.`) or suffixes (`Jr.`, `III`, `PhD`).
pub fn split_full_name(full: &str) -> (String, String, String) {
    let words: Vec<&str> = full
        .split_whitespace()
        .filter(|w| !is_in(TITLES, w) && !is_in(SUFFIXES, w))
        .collect();
    // A suffix written after a comma (`Lee, Jr.`) leaves a trailing comma.
    let joined = words.join(" ");
    let joined = joined.trim().trim_end_matches(',');
    let full = joined.trim();
    if let Some((family, rest)) = full.split_once(',') {
        let mut words = rest.split_whitespace();
        let given = words.next().unwrap_or("").to_string();
        let middle = words.collect::<Vec<_>>().join(" ");
        return (given, middle, family.trim().to_string());
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => Default::default(),
        1 => (words[0].to_string(), String::new(), String::new()),
        n => (
            words[0].to_string(),
            words[1..n - 1].join(" "),
            words[n - 1].to_string(),
        ),
    }
}

/// A phone in international form, `+<country><number>`: `+` or `00`
/// numbers keep their code; a national number loses its trunk `0` and gains
/// the default country code.
pub fn phone_with_country(v: &str, cc: &str) -> String {
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return v.to_string();
    }
    if v.trim_start().starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("+{cc}{rest}")
    } else {
        format!("+{cc}{digits}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_constant_column_gives_every_row_its_value() {
        let m = super::Mapping::parse(
            "system = \"loans\"\nkind = \"account\"\nkey = \"id\"\ndecimals = [\"balance\"]\n[columns]\nbalance = \"bal\"\nproduct_type = { value = \"loan\" }\n",
        )
        .unwrap();
        assert_eq!(m.columns_read(), vec!["bal".to_string(), "id".to_string()]);
        let cell = |c: &str| -> Result<String, String> {
            Ok(if c == "bal" {
                "10.5".into()
            } else {
                String::new()
            })
        };
        let a = m.attrs(&cell).unwrap();
        assert_eq!(
            a.get("product_type"),
            Some(&crate::Value::Text("loan".into()))
        );
        assert_eq!(
            a.get("balance"),
            Some(&crate::Value::Decimal(
                crate::Decimal::parse("10.5").unwrap()
            ))
        );
    }

    #[test]
    fn source_decimals_in_scientific_notation_and_with_many_places() {
        let d = |s: &str| super::source_decimal(s).unwrap().to_string();
        assert_eq!(d("12.50"), "12.50");
        assert_eq!(d("2.868341186312864e-06"), "0.000002868341186312");
        assert_eq!(d("1.5E3"), "1500");
        assert_eq!(d("-0.1234567890123456789012"), "-0.123456789012345678");
        assert!(super::source_decimal("1e").is_err());
        assert!(super::source_decimal("abc").is_err());
        assert!(super::source_decimal(&"9".repeat(40))
            .unwrap_err()
            .contains("36 significant digits"));
    }

    use super::*;

    #[test]
    fn every_example_in_the_mapping_docs_parses_and_checks() {
        let doc = include_str!("../../docs/mapping.md");
        let mut n = 0;
        for block in doc.split("```toml").skip(1) {
            let text = block.split("```").next().unwrap();
            let m: Mapping = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            m.check().unwrap_or_else(|e| panic!("{e}\n{text}"));
            n += 1;
        }
        assert!(n >= 4, "{n} examples");
    }

    #[test]
    fn full_names_split_both_ways() {
        assert_eq!(
            split_full_name("Mary Anne Smith"),
            ("Mary".into(), "Anne".into(), "Smith".into())
        );
        assert_eq!(
            split_full_name("Smith, Mary Anne"),
            ("Mary".into(), "Anne".into(), "Smith".into())
        );
        assert_eq!(
            split_full_name("Cher"),
            ("Cher".into(), "".into(), "".into())
        );
    }

    #[test]
    fn phones_gain_the_default_country() {
        assert_eq!(phone_with_country("0412 345 678", "61"), "+61412345678");
        assert_eq!(
            phone_with_country("+44 20 7946 0000", "61"),
            "+442079460000"
        );
        assert_eq!(
            phone_with_country("0044 20 7946 0000", "61"),
            "+442079460000"
        );
        assert_eq!(phone_with_country("(555) 123-4567", "1"), "+15551234567");
    }

    #[test]
    fn transforms() {
        assert_eq!(transform("title", "mARY anne"), "Mary Anne");
        assert_eq!(transform("digits", "AB-12 3"), "123");
        assert_eq!(transform("collapse", " a   b "), "a b");
        assert_eq!(transform("alnum", "x-1 y"), "x1y");
    }
}
