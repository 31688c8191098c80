//! The `kith` command.

mod cli;

// sled copies tree nodes on every write; glibc's allocator spends a third of
// a bulk load in malloc/free. mimalloc is markedly faster here (docs/design.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Die quietly on a closed pipe (`kith stats | head`), like other Unix tools,
    // instead of panicking on the failed write.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::run());
}
