//! A reply the reply cache holds is served without allocating: the request
//! is parsed into buffers the connection keeps and the cached bytes are
//! copied once into its output. Counted with a global allocator over
//! thousands of `ENTITY.GET`s from a client that allocates nothing itself.
#![cfg(feature = "cli")]

use kith::server::ServerConfig;
use kith::{attrs, Db, NewEntity};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

mod common;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_cached_entity_get_allocates_nothing() {
    let db = Db::temporary().unwrap();
    let ann = db
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Ann")
                .attr(attrs::FAMILY_NAME, "Lee"),
        )
        .unwrap();
    let srv = common::start_with(db, ServerConfig::default());
    let id = ann.0.to_string();
    let request = format!("*2\r\n$10\r\nENTITY.GET\r\n${}\r\n{id}\r\n", id.len());
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_nodelay(true).unwrap();
    // The first get fills the cache; its reply's length is every reply's.
    s.write_all(request.as_bytes()).unwrap();
    let mut first = vec![0u8; 64 * 1024];
    let mut n = 0;
    let len = loop {
        n += s.read(&mut first[n..]).unwrap();
        let text = &first[..n];
        if let Some(eol) = text.windows(2).position(|w| w == b"\r\n") {
            let body: usize = std::str::from_utf8(&text[1..eol]).unwrap().parse().unwrap();
            let whole = eol + 2 + body + 2;
            if n >= whole {
                break whole;
            }
        }
    };
    let mut reply = vec![0u8; len];
    let rounds = 20_000u64;
    // Warm: connection buffers grown, thread-locals made.
    for _ in 0..1_000 {
        s.write_all(request.as_bytes()).unwrap();
        s.read_exact(&mut reply).unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..rounds {
        s.write_all(request.as_bytes()).unwrap();
        s.read_exact(&mut reply).unwrap();
    }
    let made = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(&reply[..], &first[..len], "every reply is the cached one");
    // Background threads (the engine's, the trimmer) may allocate now and
    // then; a request that allocated would show as one or more per round.
    assert!(
        made < rounds / 20,
        "{made} allocations over {rounds} cached gets"
    );
    srv.stop().unwrap();
}
