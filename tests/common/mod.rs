#![cfg(feature = "cli")]
//! What the wire tests share: a server on a free port, stopped on drop.
#![allow(dead_code)] // each test binary uses its own part

use kith::server::{Server, ServerConfig, ShutdownHandle};
use kith::Db;
use std::net::SocketAddr;

pub struct Running {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn stop(mut self) -> std::io::Result<()> {
        self.handle.shutdown();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// Serves `db` with `config` on a free loopback port.
pub fn start_with(db: Db, config: ServerConfig) -> Running {
    let server = Server::bind(
        db,
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        },
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    let thread = Some(std::thread::spawn(move || server.run()));
    Running {
        addr,
        handle,
        thread,
    }
}
