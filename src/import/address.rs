//! A full address line split into its parts (`[split_address]` in a mapping
//! file): house number, street, unit, city, region and postal code, for the
//! address forms of the English-speaking countries whose sources write one
//! line — `12 Main St Apt 4, Springfield, IL 62704`, `Unit 3/45 George
//! Street, Sydney NSW 2000`, `Flat 2, 10 Downing Street, London SW1A 2AA`,
//! `45 King St W Suite 300, Toronto, ON M5H 1J8`.
//!
//! What cannot be placed is kept, never dropped: a line with no house
//! number keeps its first part as the street; words that are neither a
//! region nor a postal code stay in the city.

/// The parts of one address line; empty where the line has none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressParts {
    /// House or building number (`12`, `12A`, `12-14`).
    pub house_number: String,
    /// Street with its type (`Main St`, `George Street`).
    pub street: String,
    /// Flat, apartment, suite, unit (`Apt 4`, `Unit 3`).
    pub unit: String,
    /// Locality.
    pub city: String,
    /// State, province or territory (`IL`, `NSW`, `ON`).
    pub region: String,
    /// Postal code (`62704`, `2000`, `SW1A 2AA`, `M5H 1J8`).
    pub postal_code: String,
}

/// Words that start a unit designator.
const UNIT_WORDS: &[&str] = &[
    "apt",
    "apartment",
    "unit",
    "suite",
    "ste",
    "flat",
    "fl",
    "floor",
    "level",
    "lvl",
    "room",
    "rm",
    "bldg",
    "building",
    "lot",
    "shop",
    "flt",
    "villa",
    "site",
];

/// Street types: the last word of a street name.
const STREET_TYPES: &[&str] = &[
    "st",
    "street",
    "rd",
    "road",
    "ave",
    "av",
    "avenue",
    "blvd",
    "boulevard",
    "dr",
    "drive",
    "ln",
    "lane",
    "ct",
    "court",
    "pl",
    "place",
    "way",
    "cres",
    "crescent",
    "cl",
    "close",
    "tce",
    "terrace",
    "pde",
    "parade",
    "hwy",
    "highway",
    "cct",
    "circuit",
    "sq",
    "square",
    "pkwy",
    "parkway",
    "cir",
    "circle",
    "gr",
    "grove",
    "row",
    "walk",
    "esp",
    "esplanade",
    "trl",
    "trail",
];

/// Compass points that may follow a street type (`King St W`).
const DIRECTIONS: &[&str] = &[
    "n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west",
];

fn plain(w: &str) -> String {
    w.trim_matches(|c: char| c == '.' || c == ',')
        .to_ascii_lowercase()
}

fn is_unit_word(w: &str) -> bool {
    UNIT_WORDS.contains(&plain(w).as_str()) || w.starts_with('#')
}

fn has_digit(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
}

/// A house number: digits, perhaps with a letter or a range (`12`, `12A`,
/// `12-14`).
fn is_house_number(w: &str) -> bool {
    let w = w.trim_end_matches(',');
    w.chars().next().is_some_and(|c| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && w.chars().filter(|c| c.is_ascii_alphabetic()).count() <= 1
}

/// The states and territories of the United States, Australia and Canada,
/// recognized in any case (`nsw`, `Il`); any other two or three capital
/// letters are taken as a region too.
const REGIONS: &[&str] = &[
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in", "ia",
    "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh", "nj", "nm",
    "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut", "vt", "va", "wa",
    "wv", "wi", "wy", "pr", "gu", "vi", "as", "mp", "nsw", "vic", "qld", "act", "tas", "nt", "sa",
    "ab", "bc", "mb", "nb", "nl", "ns", "nu", "on", "pe", "qc", "sk", "yt",
];

/// A region abbreviation.
fn is_region(w: &str) -> bool {
    (2..=3).contains(&w.len())
        && (w.chars().all(|c| c.is_ascii_uppercase())
            || REGIONS.contains(&w.to_ascii_lowercase().as_str()))
}

/// The postal code at the end of `words`, as (its first word's index, the
/// code): a US ZIP (`62704`, `62704-1234`), four digits (Australia,
/// `2000`), or two words of a British or Canadian code (`SW1A 2AA`,
/// `M5H 1J8`).
fn postal_code(words: &[&str]) -> Option<(usize, String)> {
    let n = words.len();
    let last = *words.last()?;
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let zip = |s: &str| match s.split_once('-') {
        Some((a, b)) => a.len() == 5 && digits(a) && b.len() == 4 && digits(b),
        None => (4..=5).contains(&s.len()) && digits(s),
    };
    if zip(last) {
        return Some((n - 1, last.to_string()));
    }
    if n >= 2 {
        let (a, b) = (words[n - 2], last);
        let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
        // The inward part of a British code is a digit and two letters; a
        // Canadian code's second half is digit, letter, digit.
        let uk_in = b.len() == 3
            && b.as_bytes()[0].is_ascii_digit()
            && b[1..].chars().all(|c| c.is_ascii_alphabetic());
        let ca_in = b.len() == 3
            && b.as_bytes()[0].is_ascii_digit()
            && b.as_bytes()[1].is_ascii_alphabetic()
            && b.as_bytes()[2].is_ascii_digit();
        if (2..=4).contains(&a.len())
            && alnum(a)
            && a.as_bytes()[0].is_ascii_alphabetic()
            && has_digit(a)
            && (uk_in || ca_in)
        {
            return Some((
                n - 2,
                format!("{} {}", a.to_ascii_uppercase(), b.to_ascii_uppercase()),
            ));
        }
    }
    None
}

/// Splits one street part (`12 Main St Apt 4`, `Unit 3/45 George Street`,
/// `Flat 2`) into house number, street and unit.
fn street_part(part: &str, out: &mut AddressParts) {
    let mut words: Vec<String> = part.split_whitespace().map(str::to_string).collect();
    // `3/45 George St`: unit 3, number 45.
    if let Some(first) = words.first().cloned() {
        if let Some((u, n)) = first.split_once('/') {
            if has_digit(u) && is_house_number(n) {
                out.unit = u.to_string();
                words[0] = n.to_string();
            }
        }
    }
    // A unit designator and its value, wherever it stands (`Apt 4`, `#4`,
    // `Unit 3/45`).
    if let Some(i) = words.iter().position(|w| is_unit_word(w)) {
        let w = words[i].clone();
        let (label, value) = match w.strip_prefix('#') {
            Some(v) if !v.is_empty() => (String::new(), Some(v.to_string())),
            _ => (
                w.trim_end_matches(',').to_string(),
                words.get(i + 1).cloned(),
            ),
        };
        let take = if label.is_empty() {
            1
        } else {
            1 + value.is_some() as usize
        };
        let mut value = value.unwrap_or_default();
        // `Unit 3/45 …`: the number after the slash is the house number.
        let mut number = None;
        if let Some((u, n)) = value.clone().split_once('/') {
            if is_house_number(n) {
                value = u.to_string();
                number = Some(n.to_string());
            }
        }
        let value = value.trim_end_matches(',');
        out.unit = if label.is_empty() {
            format!("#{value}")
        } else {
            format!("{label} {value}").trim().to_string()
        };
        words.drain(i..i + take.min(words.len() - i));
        if let Some(n) = number {
            words.insert(i, n);
        }
    }
    if words.is_empty() {
        return;
    }
    if is_house_number(&words[0]) && words.len() > 1 {
        out.house_number = words[0].trim_end_matches(',').to_string();
        words.remove(0);
    }
    let street = words.join(" ");
    let street = street.trim().trim_end_matches(',');
    if !street.is_empty() {
        out.street = street.to_string();
    }
}

/// Splits a full address line into its parts.
pub fn split_address(line: &str) -> AddressParts {
    let mut out = AddressParts::default();
    let mut parts: Vec<String> = line
        .split(',')
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return out;
    }
    // From the end: postal code, then region, in the last part.
    let mut tail: Vec<&str> = parts.last().unwrap().split_whitespace().collect();
    if let Some((i, code)) = postal_code(&tail) {
        out.postal_code = code;
        tail.truncate(i);
    }
    if tail.last().is_some_and(|w| is_region(w)) && (tail.len() >= 2 || parts.len() >= 2) {
        out.region = tail.pop().unwrap().to_string();
    }
    let rest = tail.join(" ");
    if rest.is_empty() {
        parts.pop();
    } else {
        *parts.last_mut().unwrap() = rest;
    }
    if parts.is_empty() {
        return out;
    }
    // One part left: the street and the city share it (`12 Main St
    // Springfield`): the city is what follows the street type.
    if parts.len() == 1 {
        let words: Vec<&str> = parts[0].split_whitespace().collect();
        let cut = words
            .iter()
            .rposition(|w| STREET_TYPES.contains(&plain(w).as_str()))
            .map(|i| {
                let mut i = i + 1;
                while i < words.len() && DIRECTIONS.contains(&plain(words[i]).as_str()) {
                    i += 1;
                }
                i
            });
        match cut {
            Some(c) if c < words.len() && words[..c].iter().any(|w| has_digit(w)) => {
                // A unit after the street type stays with the street part.
                let mut c = c;
                if is_unit_word(words[c]) {
                    c = (c + 2).min(words.len());
                    if words[c - 1].starts_with('#') {
                        c -= 1;
                    }
                }
                street_part(&words[..c].join(" "), &mut out);
                out.city = words[c..].join(" ");
            }
            _ => street_part(&parts[0], &mut out),
        }
        return out;
    }
    // Several parts: the last is the city; the others are the street, with
    // a part that is only a unit (`Flat 2`) or has no house number joined
    // in.
    out.city = parts.pop().unwrap();
    let street = parts.join(" ");
    street_part(&street, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> [String; 6] {
        let p = split_address(line);
        [
            p.house_number,
            p.street,
            p.unit,
            p.city,
            p.region,
            p.postal_code,
        ]
    }

    fn want(v: [&str; 6]) -> [String; 6] {
        v.map(str::to_string)
    }

    #[test]
    fn address_lines_of_several_countries() {
        for (line, expected) in [
            (
                "12 Main St Apt 4, Springfield, IL 62704",
                ["12", "Main St", "Apt 4", "Springfield", "IL", "62704"],
            ),
            (
                "1600 Pennsylvania Avenue NW, Washington, DC 20500",
                [
                    "1600",
                    "Pennsylvania Avenue NW",
                    "",
                    "Washington",
                    "DC",
                    "20500",
                ],
            ),
            (
                "Unit 3/45 George Street, Sydney NSW 2000",
                ["45", "George Street", "Unit 3", "Sydney", "NSW", "2000"],
            ),
            (
                "3/45 George St, Sydney NSW 2000",
                ["45", "George St", "3", "Sydney", "NSW", "2000"],
            ),
            (
                "Flat 2, 10 Downing Street, London SW1A 2AA",
                ["10", "Downing Street", "Flat 2", "London", "", "SW1A 2AA"],
            ),
            (
                "45 King St W Suite 300, Toronto, ON M5H 1J8",
                ["45", "King St W", "Suite 300", "Toronto", "ON", "M5H 1J8"],
            ),
            (
                "221B Baker Street, London NW1 6XE",
                ["221B", "Baker Street", "", "London", "", "NW1 6XE"],
            ),
            (
                "12 Main St #4, Springfield IL 62704-1234",
                ["12", "Main St", "#4", "Springfield", "IL", "62704-1234"],
            ),
            (
                "12 Main St Springfield IL 62704",
                ["12", "Main St", "", "Springfield", "IL", "62704"],
            ),
            (
                "PO Box 123, Springfield IL 62704",
                ["", "PO Box 123", "", "Springfield", "IL", "62704"],
            ),
            (
                "Rose Cottage, Little Snoring",
                ["", "Rose Cottage", "", "Little Snoring", "", ""],
            ),
            ("  ", ["", "", "", "", "", ""]),
            ("62704", ["", "", "", "", "", "62704"]),
            // As FEBRL's sources write it: lower case, a building name after the street.
            (
                "44 forbes street wintersloe, kellerberrin vic 4510",
                [
                    "44",
                    "forbes street wintersloe",
                    "",
                    "kellerberrin",
                    "vic",
                    "4510",
                ],
            ),
            (
                "51 gratwick street villa 3, wyoming sa 4405",
                ["51", "gratwick street", "villa 3", "wyoming", "sa", "4405"],
            ),
            (
                "73 harrison street flt 79, whitemore sa 3049",
                ["73", "harrison street", "flt 79", "whitemore", "sa", "3049"],
            ),
        ] {
            assert_eq!(parts(line), want(expected), "{line}");
        }
    }

    #[test]
    fn nothing_is_dropped() {
        // Every word of the line is in some part.
        for line in [
            "12 Main St Apt 4, Springfield, IL 62704",
            "Level 5 Suite 2 100 Collins St, Melbourne VIC 3000",
            "Building 7, Room 12, 1 Campus Drive, Stanford CA 94305",
            "Old Mill Road, RR 2, Smalltown",
        ] {
            let p = split_address(line);
            let all = [
                &p.house_number,
                &p.street,
                &p.unit,
                &p.city,
                &p.region,
                &p.postal_code,
            ]
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
            for w in line.split(|c: char| c.is_whitespace() || c == ',') {
                if !w.is_empty() {
                    assert!(all.split(' ').any(|x| x == w), "{line}: {w} lost in {p:?}");
                }
            }
        }
    }
}
