//! A fast check of a stored entity value, for the read path: it accepts
//! only what the serde walk (`codec::walk_entity`) also accepts, and says
//! "not sure" (`None`) for everything else, which the walk then decides —
//! so errors and their messages stay the walk's.
//!
//! It reads the same bytes by hand: bincode 1's varint integers (one byte
//! up to 250; 251, 252, 253 then a little-endian u16, u32, u64), zigzag for
//! signed ones, a varint length before every string and sequence, one raw
//! byte for `u8` and `bool`, a varint variant index before an enum's
//! fields. It checks UTF-8, the variant indexes, the ranges of narrow
//! integers, ascending attribute names and identifiers, and that nothing
//! trails. `tests` and the `entity_value` fuzz target hold it to the walk.

/// The header of a well-formed entity value: kind, created, updated.
pub(crate) type Header = (u16, i64, i64);

/// Lists nested deeper than this are left to the walk.
const MAX_DEPTH: u32 = 16;

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.i.checked_add(n)?;
        let s = self.b.get(self.i..end)?;
        self.i = end;
        Some(s)
    }

    #[inline]
    fn varint(&mut self) -> Option<u64> {
        match self.byte()? {
            b @ 0..=250 => Some(b as u64),
            251 => Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?) as u64),
            252 => Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as u64),
            253 => Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            _ => None,
        }
    }

    #[inline]
    fn signed(&mut self) -> Option<i64> {
        let n = self.varint()?;
        Some(if n % 2 == 0 {
            (n / 2) as i64
        } else {
            !(n / 2) as i64
        })
    }

    #[inline]
    fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        match self.varint()? {
            0 => self.str().map(drop),
            1 | 4 => self.signed().map(drop),
            2 => {
                // Decimal { mantissa: i128, scale: u8 }: a u128 varint (254
                // and a u128 are left to the walk), then one raw byte.
                self.varint()?;
                self.byte().map(drop)
            }
            3 => i32::try_from(self.signed()?).ok().map(drop),
            5 => match self.byte()? {
                0 | 1 => Some(()),
                _ => None,
            },
            6 if depth < MAX_DEPTH => {
                let n = self.varint()?;
                for _ in 0..n {
                    self.value(depth + 1)?;
                }
                Some(())
            }
            _ => None,
        }
    }
}

/// The header of `body` (an entity value after its version byte) when it is
/// certainly well formed; `None` when the walk must decide.
pub(crate) fn entity_header(body: &[u8]) -> Option<Header> {
    let mut c = Cursor { b: body, i: 0 };
    let kind = u16::try_from(c.varint()?).ok()?;
    let created = c.signed()?;
    let updated = c.signed()?;
    let mut prev: Option<&str> = None;
    for _ in 0..c.varint()? {
        let name = c.str()?;
        if prev.is_some_and(|p| p >= name) {
            return None;
        }
        prev = Some(name);
        c.value(0)?;
    }
    let mut prev: Option<(&str, &str)> = None;
    for _ in 0..c.varint()? {
        let id = (c.str()?, c.str()?);
        if prev.is_some_and(|p| p >= id) {
            return None;
        }
        prev = Some(id);
    }
    (c.i == body.len()).then_some((kind, created, updated))
}

#[cfg(test)]
mod tests {
    use super::entity_header;
    use crate::generate::Rng;
    use crate::model::{
        Attrs, Date, Decimal, EntityId, EntityKind, EntityRecord, ExternalId, Timestamp, Value,
    };
    use crate::storage::codec::{self, EntitySink, ENTITY_V1};

    /// The walk's verdict and header for `body`.
    fn walk(body: &[u8]) -> Option<(u16, i64, i64)> {
        struct H(u16, i64, i64);
        impl EntitySink<'_> for H {
            fn header(&mut self, k: EntityKind, c: Timestamp, u: Timestamp) {
                *self = H(k.0, c.as_micros(), u.as_micros());
            }
        }
        let mut bytes = vec![ENTITY_V1];
        bytes.extend_from_slice(body);
        let mut h = H(0, 0, 0);
        codec::walk_entity(&bytes, &mut h).ok()?;
        Some((h.0, h.1, h.2))
    }

    fn value(r: &mut Rng, depth: u32) -> Value {
        match r.below(if depth > 2 { 6 } else { 7 }) {
            0 => Value::Text(
                ["", "a", "Zoë", "ABC DEF", "x".repeat(300).as_str()][r.below(5) as usize].into(),
            ),
            1 => Value::Int(r.next_u64() as i64 >> r.below(64)),
            2 => Value::Decimal(
                Decimal::parse(&format!("{}.{}", r.below(1 << 40), r.below(100))).unwrap(),
            ),
            3 => Value::Date(Date::from_days_since_epoch(
                r.below(100_000) as i32 - 50_000,
            )),
            4 => Value::Timestamp(Timestamp::from_micros(r.next_u64() as i64)),
            5 => Value::Bool(r.below(2) == 1),
            _ => Value::List((0..r.below(4)).map(|_| value(r, depth + 1)).collect()),
        }
    }

    fn record(r: &mut Rng) -> Vec<u8> {
        let mut attrs = Attrs::new();
        for i in 0..r.below(12) {
            attrs.insert(format!("attr{}{i}", r.below(3)), value(r, 0));
        }
        // As the write path stores them: sorted, each once.
        let mut identifiers: Vec<ExternalId> = (0..r.below(4))
            .map(|i| ExternalId::new(format!("s{}", r.below(3)), format!("k{i}")))
            .collect();
        identifiers.sort_by(|a, b| (&a.system, &a.key).cmp(&(&b.system, &b.key)));
        let e = EntityRecord {
            id: EntityId(1),
            kind: EntityKind(r.below(70_000) as u16),
            attrs,
            identifiers,
            created: Timestamp::from_micros(r.next_u64() as i64),
            updated: Timestamp::from_micros(r.below(1 << 50) as i64),
        };
        codec::encode_entity(&e)
    }

    /// Every value kith writes passes, with the walk's header; and of every
    /// damaged value, the fast check passes only what the walk passes, with
    /// the same header.
    #[test]
    fn the_fast_check_accepts_only_what_the_walk_accepts() {
        let mut r = Rng::new(7);
        let (mut fast_ok, mut walk_ok, mut damaged) = (0, 0, 0);
        for _ in 0..3_000 {
            let bytes = record(&mut r);
            let body = &bytes[1..];
            assert_eq!(entity_header(body), walk(body));
            assert!(
                entity_header(body).is_some(),
                "{:?}",
                codec::walk_entity(&bytes, &mut codec::Validate)
            );
            for _ in 0..20 {
                let mut b = body.to_vec();
                match r.below(4) {
                    0 if !b.is_empty() => {
                        let i = r.below(b.len() as u64) as usize;
                        b[i] = r.below(256) as u8;
                    }
                    1 if !b.is_empty() => b.truncate(r.below(b.len() as u64) as usize),
                    2 => b.push(r.below(256) as u8),
                    _ if !b.is_empty() => {
                        let i = r.below(b.len() as u64) as usize;
                        b[i] ^= 1 << r.below(8);
                    }
                    _ => {}
                }
                damaged += 1;
                let (f, w) = (entity_header(&b), walk(&b));
                if let Some(h) = f {
                    fast_ok += 1;
                    assert_eq!(
                        w,
                        Some(h),
                        "the fast check passed what the walk refuses: {b:?}"
                    );
                }
                walk_ok += w.is_some() as u32;
            }
        }
        // The damage was varied enough to reach both verdicts.
        assert!(
            fast_ok > 1_000 && walk_ok < damaged,
            "{fast_ok} {walk_ok} {damaged}"
        );
    }

    #[test]
    fn what_the_fast_check_leaves_to_the_walk() {
        // A u128 varint (254) in a decimal, a non-canonical length, lists
        // nested deeper than its bound: the walk decides.
        let mut deep = Value::Int(1);
        for _ in 0..20 {
            deep = Value::List(vec![deep]);
        }
        let mut attrs = Attrs::new();
        attrs.insert("deep".into(), deep);
        let e = EntityRecord {
            id: EntityId(1),
            kind: EntityKind::PERSON,
            attrs,
            identifiers: vec![],
            created: Timestamp::from_micros(0),
            updated: Timestamp::from_micros(0),
        };
        let bytes = codec::encode_entity(&e);
        assert_eq!(entity_header(&bytes[1..]), None);
        assert!(walk(&bytes[1..]).is_some());
        // kind 1, times 0 and 0, one attribute "a" as text "x" whose length
        // is written the long way (251 then a u16): both accept it.
        let body = [1, 0, 0, 1, 1, b'a', 0, 251, 1, 0, b'x', 0];
        assert_eq!(walk(&body), Some((1, 0, 0)));
        assert_eq!(entity_header(&body), Some((1, 0, 0)));
    }
}
