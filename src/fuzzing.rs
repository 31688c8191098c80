//! Entry points for the fuzz targets in `fuzz/`. Hidden; not part of the API.
//! Each runs one parser on arbitrary input and panics only on a real bug.

use crate::model::{Date, Decimal, EntityId, Timestamp};
use crate::storage::{codec, keys, Bytes};

/// The entity value decoder: the owned decoder, the zero-copy walk and the
/// accessors must agree, and none may panic.
pub fn entity_value(data: &[u8]) {
    let key = keys::node(1);
    let owned = codec::decode_record(&key, EntityId(1), data);
    // The read path's fast check passes only what the decoders pass.
    if let Some((&codec::ENTITY_V1, body)) = data.split_first() {
        if let Some((kind, created, updated)) = crate::storage::fastcheck::entity_header(body) {
            let r = owned
                .as_ref()
                .expect("the fast check passed what the walk refuses");
            assert_eq!(
                (r.kind.0, r.created.as_micros(), r.updated.as_micros()),
                (kind, created, updated)
            );
        }
    }
    let view = codec::decode_entity(&key, EntityId(1), Bytes::from_vec(data.to_vec()));
    match (owned, view) {
        (Ok(r), Ok(v)) => {
            assert_eq!(v.attrs(), r.attrs);
            assert_eq!(v.identifiers(), r.identifiers);
            for name in r.attrs.keys() {
                assert_eq!(v.attr(name).as_ref(), r.attrs.get(name));
            }
            // What decodes re-encodes to something that decodes the same.
            let again = codec::encode_entity(&r);
            assert_eq!(codec::decode_record(&key, EntityId(1), &again).unwrap(), r);
        }
        (Err(_), Err(_)) => {}
        (o, v) => panic!("decoders disagree: owned {o:?}, view {v:?}"),
    }
    let _ = codec::decode_edge(&key, data);
}

/// The key decoders behind `describe` (every table), and the escaped-string
/// round trip.
pub fn key(data: &[u8]) {
    let _ = keys::describe(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let mut mid = s.len() / 2;
        while !s.is_char_boundary(mid) {
            mid -= 1;
        }
        let (a, b) = s.split_at(mid);
        let k = keys::xref(a, b);
        assert_eq!(keys::parse_xref(&k), Some((a.to_string(), b.to_string())));
    }
}

/// The text parsers of decimals, dates and timestamps: what parses prints
/// back to something that parses to the same value.
pub fn text_values(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = Decimal::parse(s) {
        assert_eq!(Decimal::parse(&d.to_string()).unwrap(), d);
    }
    if let Ok(d) = Date::parse(s) {
        assert_eq!(Date::parse(&d.to_string()).unwrap(), d);
    }
    if let Ok(t) = Timestamp::parse(s) {
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
    }
}

/// The RESP request and reply parsers: never panic; a parsed request
/// consumes a prefix of the input; a parsed reply re-encodes to bytes that
/// parse back to the same reply.
#[cfg(feature = "server")]
pub fn resp_frame(data: &[u8]) {
    use crate::resp::{parse_reply, parse_request, Limits};
    let limits = Limits {
        max_bulk: 1 << 16,
        max_array: 1 << 10,
        max_line: 1 << 10,
    };
    let mut rest = data;
    while let Ok(Some((_, used))) = parse_request(rest, &limits) {
        assert!(used > 0 && used <= rest.len());
        rest = &rest[used..];
    }
    if let Ok(Some((frame, used))) = parse_reply(data, &limits) {
        assert!(used <= data.len());
        let mut again = Vec::new();
        frame.encode(&mut again, true);
        if let Ok(Some((back, _))) = parse_reply(&again, &limits) {
            assert_eq!(back, frame);
        }
    }
}

/// Identity resolution's text handling on arbitrary input: the normalizers
/// (names, streets, units, organization names, Soundex, dates, phones,
/// emails, identifiers), the blocking keys, and the comparison of two
/// records built from the input's lines. None may panic; normalized names
/// are fixed points; parsed dates print back to themselves; agreement and
/// the total are symmetric and no total is NaN.
pub fn identity_fields(data: &[u8]) {
    use crate::model::{attrs as a, Attrs, Value};
    use crate::resolve::compare::{blocking_keys, compare, PARTY_KIND};
    use crate::resolve::normalize;
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    const FORMATS: &[&str] = &["iso", "compact", "eu", "us"];
    let n = normalize::name(s);
    assert_eq!(normalize::name(&n), n);
    let _ = (
        normalize::words(s),
        normalize::street(s),
        normalize::unit(s),
    );
    let _ = normalize::organization_name(s);
    let sx = normalize::soundex(&n);
    assert!(sx.is_empty() || sx.len() == 4, "soundex {sx:?} of {n:?}");
    if let Some(d) = normalize::date(s, FORMATS) {
        assert_eq!(normalize::date(&d.to_string(), &["iso"]), Some(d));
    }
    let _ = (crate::index::phone(s, "61"), crate::index::email(s));
    let _ = (crate::index::identifier(s), crate::index::name_key(s));

    // Two records: the input's lines fill their fields in turn.
    const FIELDS: &[&str] = &[
        a::GIVEN_NAME,
        a::FAMILY_NAME,
        a::BIRTH_DATE,
        a::PHONE,
        a::EMAIL,
        a::HOUSE_NUMBER,
        a::STREET,
        a::UNIT,
        a::POSTAL_CODE,
        a::NATIONAL_ID,
        a::ORGANIZATION_NAME,
        a::REGISTRATION_NUMBER,
    ];
    let org = s.starts_with('!');
    let mut recs = [Attrs::new(), Attrs::new()];
    for (i, line) in s.lines().enumerate().take(2 * FIELDS.len()) {
        if line.is_empty() {
            continue;
        }
        let field = FIELDS[i % FIELDS.len()];
        let v = match normalize::date(line, FORMATS) {
            Some(d) if field == a::BIRTH_DATE => Value::Date(d),
            _ => Value::Text(line.to_string()),
        };
        recs[i / FIELDS.len()].insert(field.into(), v);
    }
    if org {
        for r in &mut recs {
            r.insert(PARTY_KIND.into(), Value::Text("organization".into()));
        }
    }
    let [x, y] = &recs;
    let _ = (blocking_keys(x), blocking_keys(y));
    let (xy, txy) = compare(x, y);
    let (yx, tyx) = compare(y, x);
    assert!(!txy.is_nan() && !tyx.is_nan());
    let agree = |f: &[crate::resolve::compare::FieldScore]| {
        let mut v: Vec<_> = f.iter().map(|s| (s.field, s.agreement)).collect();
        v.sort_by_key(|(f, _)| *f);
        v
    };
    assert_eq!(agree(&xy), agree(&yx), "agreement of {x:?} and {y:?}");
    assert_eq!(txy.to_bits(), tyx.to_bits(), "total of {x:?} and {y:?}");
    assert!(!compare(x, x).1.is_nan());
}

/// The rules-file parser, the condition checker and the interpreter on
/// arbitrary text: parsing never panics; a rule that parses is evaluated
/// against a fixed event and customer, which must give an outcome (fired,
/// silent or an error), never a panic; its stored text parses back to a
/// rule of the same name.
#[cfg(feature = "rules")]
pub fn rules_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    crate::rules::fuzz_one(text);
}

#[cfg(test)]
mod tests {
    /// The rules target on a valid file, a broken one and odd conditions.
    #[cfg(feature = "rules")]
    #[test]
    fn rules_file_on_seeds() {
        for s in [
            include_str!("../docs/rules/large-withdrawal.toml"),
            include_str!("../docs/rules/collections-dispute.toml"),
            "[[rule]]\nname = \"x\"\non = [\"customer.changed\"]\nwhen = 'customer.accounts.map(a, a.balance).exists(b, b > 1.0) || sum([1, null]) / 0.0 > 1.0'\n",
            "[[rule]]\nname = \"y\"\non = [\"customer.changed\"]\nwhen = '1 / 0 == 1 || \"a\" + 1'\n",
            "[[rule]\nname = ",
        ] {
            super::rules_file(s.as_bytes());
        }
    }

    /// The identity-field target on inputs like the ones it is seeded with,
    /// so that `cargo test` runs its checks too.
    #[test]
    fn identity_fields_on_seeds() {
        let seeds: &[&str] = &[
            "",
            "José\nO'Neil\n1980-02-01\n+61 2 9999 1234\nJOSE@Example.com\n12\nHigh St.\nApt 5B\n2000\n123-456-789\n\n\nJoe\nONeil\n01/02/1980\n0299991234\njose@example.com\n12\nhigh street\n5b\n2000\n123456789",
            "!\nAcme\n\n\n\n\n\n\n\n\nThe Acme Company, Inc.\nACN 000 111 222\n!\nACME\n\n\n\n\n\n\n\n\nAcme Ltd\n000111222",
            "ß\u{130}\u{301}\n\u{1F600}\n31.12.9999\n+\n@\n\n#\n/\n\n\n",
            "20200230\n00000000\n1/1/0000\n99/99/9999",
        ];
        for s in seeds {
            super::identity_fields(s.as_bytes());
            super::text_values(s.as_bytes());
            super::key(s.as_bytes());
        }
    }
}
