//! Entry points for the fuzz targets in `fuzz/`. Hidden; not part of the API.
//! Each runs one parser on arbitrary input and panics only on a real bug.

use crate::model::{Date, Decimal, EntityId, Timestamp};
use crate::storage::{codec, keys, Bytes};

/// The entity value decoder: the owned decoder, the zero-copy walk and the
/// accessors must agree, and none may panic.
pub fn entity_value(data: &[u8]) {
    let key = keys::node(1);
    let owned = codec::decode_record(&key, EntityId(1), data);
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
pub fn resp_frame(data: &[u8]) {
    use crate::server::frame::{parse_reply, parse_request, Limits};
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
