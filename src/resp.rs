//! RESP frames: the Redis serialization protocol, versions 2 and 3.
//!
//! Requests are parsed with hard limits (bulk length, array length, line
//! length, nesting), so that hostile input costs bounded memory: a frame
//! that exceeds a limit is an error before anything is allocated for it.

use std::fmt;

/// A RESP value.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+OK`.
    Simple(String),
    /// `-ERR message`.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$3\r\nfoo`.
    Bulk(Vec<u8>),
    /// `$-1` (RESP2) or `_` (RESP3).
    Null,
    /// `*2\r\n…`.
    Array(Vec<Frame>),
    /// `%1\r\n…` (RESP3); a flat array of keys and values in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `#t` (RESP3); `:1` / `:0` in RESP2.
    Boolean(bool),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    /// A bulk string of text.
    pub fn text(s: impl Into<String>) -> Frame {
        Frame::Bulk(s.into().into_bytes())
    }

    /// An error reply: a stable code word, then a message (`NOTFOUND no entity 7`).
    pub fn error(code: &str, message: impl fmt::Display) -> Frame {
        Frame::Error(format!("{code} {message}"))
    }

    /// Appends the encoding of this frame to `out`, in RESP3 if `resp3`.
    pub fn encode(&self, out: &mut Vec<u8>, resp3: bool) {
        match self {
            Frame::Simple(s) => {
                out.push(b'+');
                push_line(out, s);
            }
            Frame::Error(s) => {
                out.push(b'-');
                push_line(out, s);
            }
            Frame::Integer(i) => {
                out.push(b':');
                push_int(out, *i as i128);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Bulk(b) => encode_bulk(out, b),
            Frame::Null if resp3 => out.extend_from_slice(b"_\r\n"),
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::Array(items) => {
                out.push(b'*');
                push_int(out, items.len() as i128);
                out.extend_from_slice(b"\r\n");
                for f in items {
                    f.encode(out, resp3);
                }
            }
            Frame::Map(pairs) => {
                out.push(if resp3 { b'%' } else { b'*' });
                let n = if resp3 { pairs.len() } else { pairs.len() * 2 };
                push_int(out, n as i128);
                out.extend_from_slice(b"\r\n");
                for (k, v) in pairs {
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Frame::Boolean(b) if resp3 => {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" })
            }
            Frame::Boolean(b) => out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
        }
    }
}

/// Simple strings and errors may not hold CR or LF: replace them.
fn push_line(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// Limits on what a request may be.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest bulk string (default 16 MiB).
    pub max_bulk: usize,
    /// Most elements in an array (default 1,048,576).
    pub max_array: usize,
    /// Longest line: a header or an inline command (default 64 KiB).
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk: 16 << 20,
            max_array: 1 << 20,
            max_line: 64 << 10,
        }
    }
}

/// Why bytes are not a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes break the protocol.
    Protocol(String),
    /// A length exceeds a limit.
    TooLarge(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Protocol(m) => write!(f, "Protocol error: {m}"),
            FrameError::TooLarge(m) => write!(f, "Protocol error: {m}"),
        }
    }
}

/// Appends `$len\r\n bytes \r\n`: a bulk string, the same in RESP2 and 3.
pub(crate) fn encode_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 16);
    out.push(b'$');
    push_int(out, bytes.len() as i128);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without allocating.
fn push_int(out: &mut Vec<u8>, n: i128) {
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.extend_from_slice(&buf[at..]);
}

/// One parsed request: the command name and its arguments, as bytes.
pub type Request = Vec<Vec<u8>>;

/// Where each argument of a request lies in the buffer it was parsed from.
pub type Spans = Vec<std::ops::Range<usize>>;

/// Parses one request from the front of `buf`: a RESP array of bulk strings,
/// or an inline command (words on one line). `Ok(None)` means more bytes are
/// needed; `Ok(Some((request, used)))` gives the request and how many bytes it
/// took. An empty inline line gives an empty request.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, FrameError> {
    Ok(parse_request_spans(buf, limits)?
        .map(|(spans, used)| (spans.into_iter().map(|r| buf[r].to_vec()).collect(), used)))
}

/// [`parse_request`] without copying: the arguments as ranges of `buf`.
pub fn parse_request_spans(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Spans, usize)>, FrameError> {
    let mut spans = Vec::new();
    Ok(parse_request_into(buf, limits, &mut spans)?.map(|used| (spans, used)))
}

/// [`parse_request_spans`] into a vector the caller keeps (cleared first),
/// so that a connection parses request after request without allocating:
/// `Ok(Some(used))` when `spans` holds a whole request.
pub fn parse_request_into(
    buf: &[u8],
    limits: &Limits,
    args: &mut Spans,
) -> Result<Option<usize>, FrameError> {
    args.clear();
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first != b'*' {
        return parse_inline(buf, limits, args);
    }
    let Some((n, mut pos)) = header(buf, 0, limits)? else {
        return Ok(None);
    };
    if n < 0 {
        return Ok(Some(pos));
    }
    let n = n as usize;
    if n > limits.max_array {
        return Err(FrameError::TooLarge(format!(
            "array of {n} elements exceeds the limit of {}",
            limits.max_array
        )));
    }
    args.reserve(n.min(1024));
    for _ in 0..n {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&b) => {
                return Err(FrameError::Protocol(format!(
                    "expected '$', got '{}'",
                    (b as char).escape_default()
                )))
            }
        }
        let Some((len, start)) = header(buf, pos, limits)? else {
            return Ok(None);
        };
        if len < 0 {
            return Err(FrameError::Protocol("null bulk string in a request".into()));
        }
        let len = len as usize;
        if len > limits.max_bulk {
            return Err(FrameError::TooLarge(format!(
                "bulk string of {len} bytes exceeds the limit of {}",
                limits.max_bulk
            )));
        }
        let end = start + len;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(FrameError::Protocol(
                "bulk string not followed by CRLF".into(),
            ));
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Some(pos))
}

/// Reads `<type byte><integer>\r\n` at `pos`; returns the integer and the
/// position after the line.
fn header(buf: &[u8], pos: usize, limits: &Limits) -> Result<Option<(i64, usize)>, FrameError> {
    let Some(line_end) = find_crlf(buf, pos + 1, limits)? else {
        return Ok(None);
    };
    let digits = &buf[pos + 1..line_end];
    let text = std::str::from_utf8(digits)
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= 20)
        .ok_or_else(|| FrameError::Protocol("invalid length".into()))?;
    let n: i64 = text
        .parse()
        .map_err(|_| FrameError::Protocol(format!("invalid length {text:?}")))?;
    if n < -1 {
        return Err(FrameError::Protocol(format!("invalid length {n}")));
    }
    Ok(Some((n, line_end + 2)))
}

/// The position of the next CRLF at or after `from`, within the line limit.
fn find_crlf(buf: &[u8], from: usize, limits: &Limits) -> Result<Option<usize>, FrameError> {
    let window = &buf[from.min(buf.len())..buf.len().min(from + limits.max_line + 1)];
    match window.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && window[i - 1] == b'\r' => Ok(Some(from + i - 1)),
        Some(_) => Err(FrameError::Protocol("line not ended by CRLF".into())),
        None if window.len() > limits.max_line => Err(FrameError::TooLarge(format!(
            "line longer than {} bytes",
            limits.max_line
        ))),
        None => Ok(None),
    }
}

/// An inline command: words separated by spaces, ended by LF or CRLF.
fn parse_inline(
    buf: &[u8],
    limits: &Limits,
    args: &mut Spans,
) -> Result<Option<usize>, FrameError> {
    let window = &buf[..buf.len().min(limits.max_line + 1)];
    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
        if window.len() > limits.max_line {
            return Err(FrameError::TooLarge(format!(
                "inline command longer than {} bytes",
                limits.max_line
            )));
        }
        return Ok(None);
    };
    let end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let mut i = 0;
    while i < end {
        if buf[i] == b' ' || buf[i] == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        while i < end && buf[i] != b' ' && buf[i] != b'\t' {
            i += 1;
        }
        args.push(start..i);
    }
    Ok(Some(nl + 1))
}

/// Parses one reply (any RESP2 type, and RESP3's null, boolean and map)
/// from the front of `buf`, for clients. `Ok(None)` means more bytes are needed.
pub fn parse_reply(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>, FrameError> {
    reply_at(buf, 0, limits, 0)
}

/// What parsing found at a position: a frame and where the next begins,
/// or `None` when more bytes are needed.
type Parsed = Result<Option<(Frame, usize)>, FrameError>;

fn reply_at(buf: &[u8], pos: usize, limits: &Limits, depth: usize) -> Parsed {
    if depth > 32 {
        return Err(FrameError::Protocol("replies nested too deeply".into()));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    match kind {
        b'+' | b'-' | b':' | b'#' | b'_' => line_reply(buf, pos, kind, limits),
        b'$' => bulk_reply(buf, pos, limits),
        b'*' | b'%' => aggregate_reply(buf, pos, kind, limits, depth),
        other => Err(FrameError::Protocol(format!(
            "unknown reply type '{}'",
            (other as char).escape_default()
        ))),
    }
}

/// A one-line reply: simple string, error, integer, boolean, null.
fn line_reply(buf: &[u8], pos: usize, kind: u8, limits: &Limits) -> Parsed {
    let Some(end) = find_crlf(buf, pos + 1, limits)? else {
        return Ok(None);
    };
    let bytes = &buf[pos + 1..end];
    if bytes.contains(&b'\r') {
        return Err(FrameError::Protocol("CR inside a reply line".into()));
    }
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| FrameError::Protocol("reply line is not UTF-8".into()))?;
    let f = match kind {
        b'+' => Frame::Simple(text),
        b'-' => Frame::Error(text),
        b':' => Frame::Integer(
            text.parse()
                .map_err(|_| FrameError::Protocol(format!("invalid integer {text:?}")))?,
        ),
        b'#' => Frame::Boolean(text == "t"),
        _ => Frame::Null,
    };
    Ok(Some((f, end + 2)))
}

/// A bulk string (or the null bulk string).
fn bulk_reply(buf: &[u8], pos: usize, limits: &Limits) -> Parsed {
    let Some((len, start)) = header(buf, pos, limits)? else {
        return Ok(None);
    };
    if len < 0 {
        return Ok(Some((Frame::Null, start)));
    }
    let len = len as usize;
    if len > limits.max_bulk {
        return Err(FrameError::TooLarge(format!("bulk reply of {len} bytes")));
    }
    if buf.len() < start + len + 2 {
        return Ok(None);
    }
    if &buf[start + len..start + len + 2] != b"\r\n" {
        return Err(FrameError::Protocol(
            "bulk reply not followed by CRLF".into(),
        ));
    }
    Ok(Some((
        Frame::Bulk(buf[start..start + len].to_vec()),
        start + len + 2,
    )))
}

/// An array, or a RESP3 map (`%`: its keys and values in turn).
fn aggregate_reply(buf: &[u8], pos: usize, kind: u8, limits: &Limits, depth: usize) -> Parsed {
    let Some((n, mut next)) = header(buf, pos, limits)? else {
        return Ok(None);
    };
    if n < 0 {
        return Ok(Some((Frame::Null, next)));
    }
    let n = n as usize;
    if n > limits.max_array {
        return Err(FrameError::TooLarge(format!("reply of {n} elements")));
    }
    let items = if kind == b'%' { 2 * n } else { n };
    let mut out = Vec::with_capacity(items.min(1024));
    for _ in 0..items {
        let Some((f, after)) = reply_at(buf, next, limits, depth + 1)? else {
            return Ok(None);
        };
        out.push(f);
        next = after;
    }
    let f = if kind == b'%' {
        let mut pairs = Vec::with_capacity(n);
        let mut it = out.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        Frame::Map(pairs)
    } else {
        Frame::Array(out)
    };
    Ok(Some((f, next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<Option<(Request, usize)>, FrameError> {
        parse_request(b, &Limits::default())
    }

    #[test]
    fn arrays_of_bulk_strings_parse_incrementally() {
        let full = b"*2\r\n$3\r\nGET\r\n$2\r\n42\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (req, used) = parse(full).unwrap().unwrap();
        assert_eq!(req, vec![b"GET".to_vec(), b"42".to_vec()]);
        assert_eq!(used, full.len());
        // Two pipelined requests: the first is taken, the rest is left.
        let mut two = full.to_vec();
        two.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(parse(&two).unwrap().unwrap().1, full.len());
    }

    #[test]
    fn inline_commands_parse() {
        let (req, used) = parse(b"PING  hello\r\nrest").unwrap().unwrap();
        assert_eq!(req, vec![b"PING".to_vec(), b"hello".to_vec()]);
        assert_eq!(used, 13);
        assert_eq!(parse(b"PING").unwrap(), None);
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocating() {
        let l = Limits::default();
        assert!(matches!(
            parse(b"*99999999999\r\n"),
            Err(FrameError::TooLarge(_))
        ));
        assert!(matches!(
            parse(b"*1\r\n$999999999\r\n"),
            Err(FrameError::TooLarge(_))
        ));
        assert!(matches!(parse(b"*-5\r\n"), Err(FrameError::Protocol(_))));
        assert!(matches!(parse(b"*x\r\n"), Err(FrameError::Protocol(_))));
        assert!(matches!(
            parse(b"*1\r\n:5\r\n"),
            Err(FrameError::Protocol(_))
        ));
        assert!(matches!(
            parse(b"*1\r\n$3\r\nabcde"),
            Err(FrameError::Protocol(_))
        ));
        assert!(matches!(parse(b"*1\n"), Err(FrameError::Protocol(_))));
        let long = vec![b'a'; l.max_line + 2];
        assert!(matches!(parse(&long), Err(FrameError::TooLarge(_))));
        let mut long_header = b"*".to_vec();
        long_header.extend(vec![b'1'; l.max_line + 2]);
        assert!(matches!(parse(&long_header), Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn replies_parse_back() {
        let l = Limits::default();
        let frames = vec![
            Frame::ok(),
            Frame::Error("NOTFOUND x".into()),
            Frame::Integer(-7),
            Frame::text("hello"),
            Frame::Null,
            Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![Frame::Null])]),
        ];
        for f in frames {
            let mut b = Vec::new();
            f.encode(&mut b, false);
            for cut in 0..b.len() {
                assert_eq!(parse_reply(&b[..cut], &l).unwrap(), None);
            }
            assert_eq!(parse_reply(&b, &l).unwrap(), Some((f, b.len())));
        }
        let mut b = Vec::new();
        Frame::Map(vec![(Frame::text("a"), Frame::Boolean(true))]).encode(&mut b, true);
        assert!(matches!(
            parse_reply(&b, &l).unwrap(),
            Some((Frame::Map(_), _))
        ));
        assert!(parse_reply(b"?x\r\n", &l).is_err());
        let deep = "*1\r\n".repeat(40);
        assert!(parse_reply(deep.as_bytes(), &l).is_err());
    }

    #[test]
    fn replies_encode_in_both_versions() {
        let m = Frame::Map(vec![(Frame::text("a"), Frame::Integer(1))]);
        let mut v2 = Vec::new();
        m.encode(&mut v2, false);
        assert_eq!(v2, b"*2\r\n$1\r\na\r\n:1\r\n");
        let mut v3 = Vec::new();
        m.encode(&mut v3, true);
        assert_eq!(v3, b"%1\r\n$1\r\na\r\n:1\r\n");
        let mut n = Vec::new();
        Frame::Null.encode(&mut n, false);
        Frame::Null.encode(&mut n, true);
        Frame::Error("ERR bad\r\nline".into()).encode(&mut n, false);
        assert_eq!(n, b"$-1\r\n_\r\n-ERR bad  line\r\n");
    }
}
