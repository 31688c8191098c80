//! The `kith` command.

mod cli;

fn main() {
    // Die quietly on a closed pipe (`kith stats | head`), like other Unix tools,
    // instead of panicking on the failed write.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::run());
}
