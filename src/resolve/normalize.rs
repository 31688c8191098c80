//! Normalization of identity fields: names (case, accents, punctuation,
//! nicknames), phonetic codes, dates in several formats.

use crate::model::Date;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Lower-case letters only, accents folded (`José O'Neil` → `joseoneil`).
pub fn name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
            'ý' | 'ÿ' => 'y',
            'ł' => 'l',
            'ś' | 'š' | 'ß' => 's',
            'ź' | 'ż' | 'ž' => 'z',
            c => c,
        };
        if folded.is_ascii_alphabetic() {
            out.push(folded);
        }
    }
    out
}

/// [`name`], borrowing `s` when it is already normalized (lower-case ASCII
/// letters only: most stored names), so that comparing two records does
/// not allocate for each name it looks at.
pub fn name_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii_lowercase()) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(name(s))
    }
}

/// Words of a text, normalized like [`name`] and without empty ones.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '.')
        .map(name)
        .filter(|w| !w.is_empty())
        .collect()
}

fn nickname_groups() -> &'static HashMap<String, HashSet<String>> {
    static TABLE: OnceLock<HashMap<String, HashSet<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m: HashMap<String, HashSet<String>> = HashMap::new();
        for line in include_str!("../../data/nicknames.csv").lines().skip(1) {
            let mut parts = line.split(',');
            let (Some(a), Some(_), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (a, b) = (name(a), name(b));
            m.entry(a.clone()).or_default().insert(b.clone());
            m.entry(b).or_default().insert(a);
        }
        m
    })
}

/// Whether two normalized given names are a name and its nickname (Bob / Robert).
pub fn nicknames(a: &str, b: &str) -> bool {
    nickname_groups().get(a).is_some_and(|s| s.contains(b))
}

/// Street-type abbreviations and their full words.
pub const STREET_TYPES: &[(&str, &str)] = &[
    ("st", "street"),
    ("str", "street"),
    ("rd", "road"),
    ("ave", "avenue"),
    ("av", "avenue"),
    ("dr", "drive"),
    ("ln", "lane"),
    ("pl", "place"),
    ("cres", "crescent"),
    ("cr", "crescent"),
    ("ct", "court"),
    ("blvd", "boulevard"),
    ("hwy", "highway"),
    ("pde", "parade"),
    ("tce", "terrace"),
    ("sq", "square"),
    ("cl", "close"),
    ("cct", "circuit"),
    ("esp", "esplanade"),
    ("gr", "grove"),
    ("pkwy", "parkway"),
    ("wy", "way"),
];

/// A street without case, accents and punctuation, with street types
/// spelled out (`12 High St.` → `12highstreet`).
pub fn street(s: &str) -> String {
    words(s)
        .into_iter()
        .map(|w| {
            STREET_TYPES
                .iter()
                .find(|(abbr, _)| *abbr == w)
                .map(|(_, full)| full.to_string())
                .unwrap_or(w)
        })
        .collect()
}

/// A unit, flat or suite number without its label (`Apt. 5B`, `unit 5b`,
/// `#5B`, `Flat 5b` → `5b`).
pub fn unit(s: &str) -> String {
    const LABELS: &[&str] = &[
        "unit",
        "apt",
        "apartment",
        "flat",
        "suite",
        "ste",
        "no",
        "number",
        "level",
        "lvl",
    ];
    let ws: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == '#' || c == ',' || c == '.' || c == '/')
        .map(|w| {
            w.chars()
                .flat_map(char::to_lowercase)
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty() && !LABELS.contains(&w.as_str()))
        .collect();
    ws.concat()
}

/// Legal-form and filler words left out of organization names, so that
/// `Acme Ltd`, `ACME Limited` and `The Acme Company Inc.` compare equal.
pub const LEGAL_FORMS: &[&str] = &[
    "the",
    "and",
    "of",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "llp",
    "lp",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "pty",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "kg",
];

/// An organization name without case, accents, punctuation and legal forms
/// (`The Acme Company, Inc.` → `acme`); the plain name if nothing else is left.
pub fn organization_name(s: &str) -> String {
    let ws = words(&s.replace('&', " and "));
    let kept: Vec<&str> = ws
        .iter()
        .map(String::as_str)
        .filter(|w| !LEGAL_FORMS.contains(w))
        .collect();
    if kept.is_empty() {
        ws.concat()
    } else {
        kept.concat()
    }
}

/// Every name of the nickname table, sorted: formal names and nicknames alike.
pub fn nickname_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = nickname_groups().keys().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// The nicknames (or formal names) a normalized given name is known by, sorted.
pub fn nicknames_of(n: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = nickname_groups()
        .get(n)
        .map(|s| s.iter().map(String::as_str).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// American Soundex of a normalized name (`robert` → `r163`); empty for an empty name.
pub fn soundex(n: &str) -> String {
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => '1',
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
        'd' | 't' => '3',
        'l' => '4',
        'm' | 'n' => '5',
        'r' => '6',
        _ => '0',
    };
    let mut chars = n.chars().filter(|c| c.is_ascii_alphabetic());
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out = String::from(first);
    let mut last = code(first);
    for c in chars {
        let d = code(c);
        if d != '0' && d != last {
            out.push(d);
            if out.len() == 4 {
                break;
            }
        }
        if c != 'h' && c != 'w' {
            last = d;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

/// A date in one of the accepted formats: ISO `YYYY-MM-DD`, compact
/// `YYYYMMDD`, European `DD/MM/YYYY` or `DD.MM.YYYY`, US `MM/DD/YYYY`
/// (`formats` names which, in order: `iso`, `compact`, `eu`, `us`).
pub fn date(s: &str, formats: &[&str]) -> Option<Date> {
    let t = s.trim();
    // A date-time (`1991-12-21 00:00:00`, `1991-12-21T08:30:00Z`): its date.
    let t = match t.find(['T', ' ']) {
        Some(i)
            if t[i + 1..].contains(':') && t[i + 1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            &t[..i]
        }
        _ => t,
    };
    for f in formats {
        // Each format in its own closure: one that does not fit returns
        // `None` for itself, and the next is tried.
        let d = (|| match *f {
            "iso" => Date::parse(t).ok(),
            "compact" if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) => Date::from_ymd(
                t[..4].parse().ok()?,
                t[4..6].parse().ok()?,
                t[6..].parse().ok()?,
            ),
            "eu" | "us" => {
                let p: Vec<&str> = t.split(['/', '.', '-']).collect();
                if p.len() != 3 || (p[2].len() != 4 && p[2].len() != 2) {
                    None
                } else {
                    let (a, b, y) = (p[0].parse().ok()?, p[1].parse().ok()?, full_year(p[2])?);
                    if *f == "eu" {
                        Date::from_ymd(y, b, a)
                    } else {
                        Date::from_ymd(y, a, b)
                    }
                }
            }
            "month" => month_name_date(t),
            _ => None,
        })();
        if d.is_some() {
            return d;
        }
    }
    None
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A month's number from its English name or first three letters (`Mar`,
/// `march`, `Sept`).
fn month_number(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 || !w.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m))
        .map(|i| i as u32 + 1)
        .filter(|i| {
            let full = [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ][*i as usize - 1];
            full.starts_with(&w) || (w == "sept" && *i == 9)
        })
}

/// A year of two digits: the latest year ending so that is not after this
/// year (`70` → 1970, `05` → 2005 until 2105); four digits as they are.
pub fn full_year(y: &str) -> Option<i32> {
    let n: i32 = y.parse().ok()?;
    match y.len() {
        4 => Some(n),
        2 => {
            let days = crate::model::Timestamp::now()
                .as_micros()
                .div_euclid(86_400_000_000);
            let this = Date::from_days_since_epoch(days as i32).ymd().0;
            let century = this - this.rem_euclid(100);
            Some(if century + n <= this {
                century + n
            } else {
                century - 100 + n
            })
        }
        _ => None,
    }
}

/// Dates written with a month's name: `Mar 1 1970`, `March 1, 1970`,
/// `1 Mar 1970`, `01-MAR-70`, `1-Mar-1970` (two-digit years by
/// [`full_year`]).
fn month_name_date(t: &str) -> Option<Date> {
    let parts: Vec<&str> = t
        .split([' ', '-', ',', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 {
        return None;
    }
    let (m, d, y) = if let Some(m) = month_number(parts[0]) {
        (m, parts[1], parts[2])
    } else {
        (month_number(parts[1])?, parts[0], parts[2])
    };
    let day: u32 = d.parse().ok()?;
    Date::from_ymd(full_year(y)?, m, day)
}

/// A date known only to its year or month — `1970`, `1970-03`, `03/1970`,
/// `Mar 1970` — as `YYYY` or `YYYY-MM` text (compared as partial agreement
/// with a full date in it).
pub fn partial_date(s: &str) -> Option<String> {
    let t = s.trim();
    let parts: Vec<&str> = t
        .split([' ', '-', '/', '.', ','])
        .filter(|p| !p.is_empty())
        .collect();
    let year = |y: &str| {
        (y.len() == 4)
            .then(|| y.parse::<i32>().ok())
            .flatten()
            .filter(|y| (1000..=9999).contains(y))
    };
    match parts.as_slice() {
        [y] => year(y).map(|y| format!("{y:04}")),
        [a, b] => {
            let (y, m) = if let Some(y) = year(a) {
                (y, *b)
            } else {
                (year(b)?, *a)
            };
            let m = month_number(m)
                .or_else(|| m.parse::<u32>().ok().filter(|m| (1..=12).contains(m)))?;
            Some(format!("{y:04}-{m:02}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_a_time_give_their_date() {
        let iso = |s| date(s, &["iso"]).map(|d| d.to_string());
        assert_eq!(iso("1991-12-21 00:00:00").as_deref(), Some("1991-12-21"));
        assert_eq!(iso("1991-12-21T08:30:00Z").as_deref(), Some("1991-12-21"));
        assert_eq!(
            date("21/12/1991 13:05", &["eu"])
                .map(|d| d.to_string())
                .as_deref(),
            Some("1991-12-21")
        );
        assert_eq!(iso("1991-12-21 noon"), None);
    }

    #[test]
    fn names_fold_case_accents_and_punctuation() {
        assert_eq!(name("José O'Neil"), "joseoneil");
        assert_eq!(name("  MÜLLER-Lüdenscheidt "), "mullerludenscheidt");
        assert_eq!(
            words("de la Cruz, Ana-María"),
            vec!["de", "la", "cruz", "ana", "maria"]
        );
    }

    #[test]
    fn streets_spell_out_types_and_units_drop_labels() {
        assert_eq!(street("12 High St."), street("12 high street"));
        assert_eq!(street("Banksia Cres"), "banksiacrescent");
        assert_eq!(street("Oxford Rd"), street("OXFORD ROAD"));
        assert_ne!(street("Oxford Rd"), street("Oxford Lane"));
        assert_eq!(unit("Apt. 5B"), "5b");
        assert_eq!(unit("unit 5b"), "5b");
        assert_eq!(unit("#5B"), "5b");
        assert_eq!(unit("Flat 5b"), "5b");
    }

    #[test]
    fn organization_names_drop_legal_forms() {
        assert_eq!(organization_name("Acme Ltd"), "acme");
        assert_eq!(organization_name("ACME Limited"), "acme");
        assert_eq!(organization_name("The Acme Company, Inc."), "acme");
        assert_eq!(organization_name("Smith & Sons Pty Ltd"), "smithsons");
        assert_eq!(organization_name("The Company"), "thecompany");
    }

    #[test]
    fn nicknames_and_soundex() {
        assert!(nicknames("robert", "bob"));
        assert!(nicknames("bob", "robert"));
        assert!(!nicknames("robert", "alice"));
        assert_eq!(soundex("robert"), "r163");
        assert_eq!(soundex("rupert"), "r163");
        assert_eq!(soundex("ashcraft"), "a261");
        assert_eq!(soundex("lee"), "l000");
    }

    #[test]
    fn dates_in_several_formats() {
        let want = Date::parse("1980-02-01").unwrap();
        let all = ["iso", "compact", "eu", "us"];
        assert_eq!(date("1980-02-01", &all), Some(want));
        assert_eq!(date("19800201", &all), Some(want));
        assert_eq!(date("01/02/1980", &["eu"]), Some(want));
        assert_eq!(date("02/01/1980", &["us"]), Some(want));
        assert_eq!(date("31/31/1980", &all), None);
        assert_eq!(date("", &all), None);
    }
}
