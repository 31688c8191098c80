//! Where a read command's output goes: the terminal, or — when the running
//! server that holds the database answers it (`KITH.CLI`) — buffers sent
//! back over the wire, so that the output is the same either way.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;

thread_local! {
    /// While a command runs for a remote caller: its stdout and stderr.
    static CAPTURE: RefCell<Option<(Vec<u8>, Vec<u8>)>> = const { RefCell::new(None) };
}

/// Writes to the command's standard output.
pub(crate) fn out(args: fmt::Arguments<'_>) {
    let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some((o, _)) => {
            let _ = o.write_fmt(args);
            true
        }
        None => false,
    });
    if !captured {
        // A closed pipe (`kith … | head`) ends the output, not the process.
        let _ = std::io::stdout().lock().write_fmt(args);
    }
}

/// Writes to the command's standard error (notes, not the answer).
pub(crate) fn err(args: fmt::Arguments<'_>) {
    let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some((_, e)) => {
            let _ = e.write_fmt(args);
            true
        }
        None => false,
    });
    if !captured {
        let _ = std::io::stderr().lock().write_fmt(args);
    }
}

/// Runs `f` with its output captured: what it returned, its stdout, its
/// stderr.
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<u8>, Vec<u8>) {
    /// Ends the capture however `f` ends (a panic included), so that the
    /// thread's later output goes where it should.
    struct End;
    impl Drop for End {
        fn drop(&mut self) {
            CAPTURE.with(|c| c.borrow_mut().take());
        }
    }
    CAPTURE.with(|c| *c.borrow_mut() = Some((Vec::new(), Vec::new())));
    let end = End;
    let r = f();
    let (o, e) = CAPTURE
        .with(|c| c.borrow_mut().take())
        .expect("capture is set above");
    drop(end);
    (r, o, e)
}

/// `println!` to the command's output.
macro_rules! say {
    () => { $crate::cli::out::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::out::out(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` to the command's output.
macro_rules! say_raw {
    ($($t:tt)*) => { $crate::cli::out::out(format_args!($($t)*)) };
}

/// `eprintln!` to the command's standard error.
macro_rules! note {
    ($($t:tt)*) => { $crate::cli::out::err(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {note, say, say_raw};
