#![no_main]
//! Fuzz target: the mapping-file parser and checker, and the turning of one
//! row into canonical attributes (transforms, split names and addresses, joined columns,
//! dates, timestamps, decimals, integers, phones with a default country).
//!
//! The input is a mapping file's text, a NUL byte, then a row: its cells one
//! per line, each column name reading the cell its name hashes to. Nothing
//! may panic, and a row converts the same way twice.
use libfuzzer_sys::fuzz_target;

use kith::import::mapping;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, row) = text.split_once('\0').unwrap_or((text, ""));
    let Ok(m) = mapping::Mapping::parse(toml) else {
        return;
    };
    let _ = m.config();
    let _ = m.columns_read();
    let cells: Vec<&str> = row.split('\n').collect();
    let cell = |c: &str| -> Result<String, String> {
        if c.starts_with('!') {
            return Err(format!("no column {c:?}"));
        }
        let h = c
            .bytes()
            .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        Ok(cells[h % cells.len()].to_string())
    };
    let first = m.attrs(&cell);
    let again = m.attrs(&cell);
    assert_eq!(first, again);
    if let Ok(mut attrs) = first {
        m.trust_fields(&mut attrs);
    }
});
