//! Field comparisons with graded agreement, combined as Fellegi-Sunter
//! weights (log2 of m/u): each field adds its agreement weight or its
//! disagreement penalty; a missing field adds nothing.

use super::normalize;
use crate::model::attrs as a;
use crate::model::{Attrs, Date, Value};

/// How well one field agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Equal after normalization.
    Exact,
    /// Close: a typo, a transposition, a nickname, a day/month swap.
    Close,
    /// Somewhat alike (Jaro-Winkler above the lower threshold).
    Partial,
    /// One side has no value.
    Missing,
    /// Different.
    Disagree,
}

/// One field's comparison and its weight.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldScore {
    /// The canonical attribute.
    pub field: &'static str,
    /// How it agreed.
    pub agreement: Agreement,
    /// The weight it added.
    pub weight: f64,
}

/// Weights of one field: exact, close, partial, disagree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight when equal.
    pub exact: f64,
    /// Weight when close.
    pub close: f64,
    /// Weight when partially alike.
    pub partial: f64,
    /// Weight (negative) when different.
    pub disagree: f64,
}

const fn w(exact: f64, close: f64, partial: f64, disagree: f64) -> Weights {
    Weights {
        exact,
        close,
        partial,
        disagree,
    }
}

/// Added when both the given name and the birth date disagree.
pub const DIFFERENT_PERSON: f64 = -12.0;

/// The default weights for persons, by field.
pub const PERSON_WEIGHTS: &[(&str, Weights)] = &[
    (a::NATIONAL_ID, w(12.0, 7.0, 0.0, -7.0)),
    (a::GIVEN_NAME, w(5.0, 3.5, 1.5, -3.0)),
    (a::FAMILY_NAME, w(6.0, 4.0, 2.0, -4.0)),
    (a::BIRTH_DATE, w(6.0, 3.0, 2.0, -5.0)),
    (a::HOUSE_NUMBER, w(2.5, 1.5, 0.0, -1.0)),
    (a::STREET, w(4.0, 3.0, 1.0, -1.5)),
    (a::UNIT, w(2.5, 1.5, 0.5, -0.5)),
    (a::CITY, w(3.5, 2.5, 1.0, -1.5)),
    (a::POSTAL_CODE, w(3.5, 2.0, 0.0, -1.5)),
    (a::REGION, w(0.5, 0.0, 0.0, -1.0)),
    (a::EMAIL, w(12.0, 4.0, 0.0, -2.0)),
    (a::PHONE, w(6.0, 3.0, 0.0, -1.0)),
];

fn text<'x>(attrs: &'x Attrs, f: &str) -> Option<&'x str> {
    attrs
        .get(f)
        .and_then(Value::as_text)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn date(attrs: &Attrs, f: &str) -> Option<Date> {
    match attrs.get(f) {
        Some(Value::Date(d)) => Some(*d),
        Some(Value::Text(t)) => normalize::date(t, &["iso", "compact"]),
        _ => None,
    }
}

/// Levenshtein distance at most 1, or one adjacent transposition.
fn one_edit(x: &str, y: &str) -> bool {
    strsim::damerau_levenshtein(x, y) <= 1
}

fn strings(x: &str, y: &str) -> Agreement {
    if x == y {
        return Agreement::Exact;
    }
    let jw = strsim::jaro_winkler(x, y);
    if jw >= 0.92 || (x.len() > 3 && one_edit(x, y)) {
        Agreement::Close
    } else if jw >= 0.85 {
        Agreement::Partial
    } else {
        Agreement::Disagree
    }
}

/// Both records' values of a name-like field, normalized; `None` if either is missing.
fn names(x: &Attrs, y: &Attrs, field: &str) -> Option<(String, String)> {
    let p = text(x, field)
        .map(normalize::name)
        .filter(|n| !n.is_empty())?;
    let q = text(y, field)
        .map(normalize::name)
        .filter(|n| !n.is_empty())?;
    Some((p, q))
}

fn compare_field(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    match field {
        a::BIRTH_DATE => {
            let (Some(p), Some(q)) = (date(x, field), date(y, field)) else {
                // A date kept as text (it did not parse): compare the digits.
                let digits = |r: &Attrs| match r.get(field) {
                    Some(Value::Text(t)) => {
                        Some(t.chars().filter(char::is_ascii_digit).collect::<String>())
                    }
                    Some(Value::Date(d)) => Some(d.to_string().replace('-', "")),
                    _ => None,
                };
                return match (digits(x), digits(y)) {
                    (Some(p), Some(q)) if !p.is_empty() && !q.is_empty() => {
                        if p == q {
                            Agreement::Exact
                        } else if one_edit(&p, &q) {
                            Agreement::Partial
                        } else {
                            Agreement::Disagree
                        }
                    }
                    _ => Agreement::Missing,
                };
            };
            if p == q {
                return Agreement::Exact;
            }
            let ((py, pm, pd), (qy, qm, qd)) = (p.ymd(), q.ymd());
            if py == qy && pm == qd && pd == qm {
                Agreement::Close // day and month swapped
            } else if (py == qy) as u8 + (pm == qm) as u8 + (pd == qd) as u8 == 2 {
                Agreement::Partial
            } else {
                Agreement::Disagree
            }
        }
        a::NATIONAL_ID | a::POSTAL_CODE | a::HOUSE_NUMBER | a::PHONE => {
            let norm = |t: &str| {
                t.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_uppercase()
            };
            let (Some(p), Some(q)) = (text(x, field).map(norm), text(y, field).map(norm)) else {
                return Agreement::Missing;
            };
            if p.is_empty() || q.is_empty() {
                Agreement::Missing
            } else if p == q {
                Agreement::Exact
            } else if p.len() > 3 && one_edit(&p, &q) {
                Agreement::Close
            } else {
                Agreement::Disagree
            }
        }
        a::EMAIL => {
            let (Some(p), Some(q)) = (text(x, field), text(y, field)) else {
                return Agreement::Missing;
            };
            if p.eq_ignore_ascii_case(q) {
                Agreement::Exact
            } else {
                Agreement::Disagree
            }
        }
        a::GIVEN_NAME => {
            let Some((p, q)) = names(x, y, field) else {
                return Agreement::Missing;
            };
            if p == q {
                return Agreement::Exact;
            }
            if normalize::nicknames(&p, &q) {
                return Agreement::Close;
            }
            // An initial against a full name.
            if (p.len() == 1 && q.starts_with(&p)) || (q.len() == 1 && p.starts_with(&q)) {
                return Agreement::Partial;
            }
            strings(&p, &q)
        }
        _ => {
            let Some((p, q)) = names(x, y, field) else {
                return Agreement::Missing;
            };
            strings(&p, &q)
        }
    }
}

/// Compares two records field by field; returns each field's score and the total.
pub fn compare(x: &Attrs, y: &Attrs) -> (Vec<FieldScore>, f64) {
    let mut out = Vec::with_capacity(PERSON_WEIGHTS.len());
    let mut total = 0.0;
    // Given and family names swapped between the two records.
    let swapped = {
        let g = |r: &Attrs, f| text(r, f).map(normalize::name).filter(|s| !s.is_empty());
        matches!((g(x, a::GIVEN_NAME), g(y, a::FAMILY_NAME), g(x, a::FAMILY_NAME), g(y, a::GIVEN_NAME)),
            (Some(p), Some(q), Some(r), Some(s)) if p == q && r == s && p != r)
    };
    for (field, wt) in PERSON_WEIGHTS {
        let mut agreement = compare_field(field, x, y);
        if swapped && (*field == a::GIVEN_NAME || *field == a::FAMILY_NAME) {
            agreement = Agreement::Close;
        }
        let weight = match agreement {
            Agreement::Exact => wt.exact,
            Agreement::Close => wt.close,
            Agreement::Partial => wt.partial,
            Agreement::Missing => 0.0,
            Agreement::Disagree => wt.disagree,
        };
        total += weight;
        out.push(FieldScore {
            field,
            agreement,
            weight,
        });
    }
    // Two people who share a surname, an address and a phone (a household)
    // but differ in given name and birth date are different people, whatever
    // else agrees.
    let disagree = |f: &str| {
        out.iter()
            .any(|s| s.field == f && s.agreement == Agreement::Disagree)
    };
    if disagree(a::GIVEN_NAME) && disagree(a::BIRTH_DATE) {
        out.push(FieldScore {
            field: "given_name+birth_date",
            agreement: Agreement::Disagree,
            weight: DIFFERENT_PERSON,
        });
        total += DIFFERENT_PERSON;
    }
    (out, total)
}

/// The candidate keys of a record. Several independent keys, so that two
/// records of one person share at least one even when a typo, a swap or a
/// missing value breaks the others: exact identifiers and halves of the
/// national id; email; phone; each name's Soundex with the birth date;
/// the family name's Soundex with the birth year; both names' Soundex codes
/// in either order; postcode with house number; street with postcode; street
/// with house number.
pub fn blocking_keys(r: &Attrs) -> Vec<String> {
    let mut keys = Vec::new();
    let t = |f| text(r, f);
    if let Some(n) = t(a::NATIONAL_ID) {
        let d: String = n.chars().filter(char::is_ascii_alphanumeric).collect();
        if !d.is_empty() {
            keys.push(format!("n:{d}"));
        }
        if d.len() >= 6 {
            let half = d.len() / 2;
            keys.push(format!("na:{}", &d[..half + 1]));
            keys.push(format!("nb:{}", &d[half..]));
        }
    }
    if let Some(e) = t(a::EMAIL) {
        keys.push(format!("e:{}", e.to_lowercase()));
    }
    if let Some(p) = t(a::PHONE) {
        let d: String = p.chars().filter(char::is_ascii_digit).collect();
        if d.len() >= 6 {
            keys.push(format!("p:{d}"));
        }
    }
    let sx = |f| {
        t(f).map(normalize::name)
            .map(|n| normalize::soundex(&n))
            .filter(|s| !s.is_empty())
    };
    let (family, given) = (sx(a::FAMILY_NAME), sx(a::GIVEN_NAME));
    let dob = date(r, a::BIRTH_DATE);
    for s in [&family, &given].into_iter().flatten() {
        if let Some(d) = dob {
            keys.push(format!("sd:{s}{d}"));
        }
    }
    if let (Some(f), Some(d)) = (&family, dob) {
        keys.push(format!("fy:{f}{}", d.ymd().0));
    }
    if let (Some(f), Some(g)) = (&family, &given) {
        let (x, y) = if f <= g { (f, g) } else { (g, f) };
        keys.push(format!("fg:{x}{y}"));
    }
    let street = t(a::STREET).map(normalize::name).filter(|s| s.len() >= 4);
    let house = t(a::HOUSE_NUMBER);
    let postcode = t(a::POSTAL_CODE);
    if let (Some(pc), Some(h)) = (postcode, house) {
        keys.push(format!("ah:{pc}/{h}"));
    }
    if let (Some(st), Some(pc)) = (&street, postcode) {
        keys.push(format!("sp:{}/{pc}", &st[..st.len().min(8)]));
    }
    if let (Some(st), Some(h)) = (&street, house) {
        keys.push(format!("sh:{}/{h}", &st[..st.len().min(8)]));
    }
    keys.sort();
    keys.dedup();
    keys
}
