//! `AUTH [username] password`.
use crate::resp::Frame;
use crate::server::command::{Command, Context};

pub(crate) struct Auth;

/// Checks a password in time that does not depend on where it differs.
pub(crate) fn check_password(cx: &Context<'_>, given: &[u8]) -> bool {
    match &cx.shared.config.password {
        None => true,
        Some(p) => constant_time_eq(p.as_bytes(), given),
    }
}

/// Equality whose running time depends only on the lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= (x ^ y) as u64;
    }
    std::hint::black_box(diff) == 0
}

/// Runs AUTH's logic for AUTH and HELLO: `user` must be absent or "default".
pub(crate) fn authenticate(
    cx: &mut Context<'_>,
    user: Option<&[u8]>,
    password: &[u8],
) -> Result<(), Frame> {
    if cx.shared.config.password.is_none() {
        return Err(Frame::Error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".into(),
        ));
    }
    let user_ok = user.is_none_or(|u| u == b"default");
    if check_password(cx, password) && user_ok {
        cx.session.authenticated = true;
        Ok(())
    } else {
        Err(Frame::Error(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        ))
    }
}

impl Command for Auth {
    fn name(&self) -> &'static str {
        "AUTH"
    }
    fn arity(&self) -> i32 {
        -2
    }
    fn summary(&self) -> &'static str {
        "AUTH [username] password: authenticate (username must be 'default')"
    }
    fn before_auth(&self) -> bool {
        true
    }
    fn run(&self, cx: &mut Context<'_>, args: &[&[u8]]) -> Frame {
        let r = match args.len() {
            2 => authenticate(cx, None, args[1]),
            3 => authenticate(cx, Some(args[1]), args[2]),
            _ => return Frame::Error("ERR syntax error".into()),
        };
        match r {
            Ok(()) => Frame::ok(),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_compares() {
        use super::constant_time_eq as eq;
        assert!(eq(b"secret", b"secret"));
        assert!(!eq(b"secret", b"secreT"));
        assert!(!eq(b"secret", b"secret2"));
        assert!(!eq(b"", b"x"));
        assert!(eq(b"", b""));
    }
}
