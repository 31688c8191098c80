//! Live pages: one thread follows the change log and, for every commit,
//! tells each page open on one of the commit's customers (the `Committed`
//! change names every customer whose context the commit changed) with a
//! server-sent event; the page then reads its customer again.

use super::Shared;
use crate::{Change, ChangeId, EntityId};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often an idle page hears a comment (so a closed tab is noticed).
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The pages open on each customer: (page number, where its events go).
type Pages = HashMap<EntityId, Vec<(u64, Sender<String>)>>;

#[derive(Default)]
struct HubInner {
    pages: Mutex<Pages>,
    next: AtomicU64,
    closed: AtomicBool,
}

/// Who follows which customer.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<HubInner>,
}

impl Hub {
    /// Starts following `db`'s change log from its end.
    pub(crate) fn start(db: crate::Db) -> Hub {
        let hub = Hub {
            inner: Arc::new(HubInner::default()),
        };
        let inner = hub.inner.clone();
        let _ = std::thread::Builder::new()
            .name("kith-http-live".into())
            .spawn(move || follow(&db, &inner));
        hub
    }

    /// Stops following; open pages are closed.
    pub(crate) fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.pages.lock().clear();
    }

    fn subscribe(&self, id: EntityId) -> (u64, Receiver<String>) {
        let (tx, rx) = crossbeam_channel::bounded(64);
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.pages.lock().entry(id).or_default().push((n, tx));
        (n, rx)
    }

    fn unsubscribe(&self, id: EntityId, n: u64) {
        let mut pages = self.inner.pages.lock();
        if let Some(v) = pages.get_mut(&id) {
            v.retain(|(m, _)| *m != n);
            if v.is_empty() {
                pages.remove(&id);
            }
        }
    }
}

fn follow(db: &crate::Db, hub: &HubInner) {
    let mut at: ChangeId = db.changes().last();
    while !hub.closed.load(Ordering::SeqCst) {
        if !db.changes().wait(at, Some(Duration::from_millis(250))) {
            continue;
        }
        let Ok(entries) = db.changes().read_after(at, 1_000) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        for e in entries {
            at = e.id;
            if let Change::Committed { customers, .. } = &e.change {
                let pages = hub.pages.lock();
                for c in customers {
                    for (_, tx) in pages.get(c).into_iter().flatten() {
                        let event = serde_json::json!({
                            "customer": c.0,
                            "change": e.id.to_string(),
                            "ms": e.id.ms,
                        });
                        // A page that stopped reading misses events, not the next one.
                        let _ = tx.try_send(event.to_string());
                    }
                }
            }
        }
    }
}

/// Keeps the request's connection and sends it the customer's events until
/// the page goes away or the server stops.
pub(crate) fn serve(shared: Arc<Shared>, req: tiny_http::Request, id: EntityId) {
    if shared.live_pages.fetch_add(1, Ordering::SeqCst) >= shared.config.max_live {
        shared.live_pages.fetch_sub(1, Ordering::SeqCst);
        let body = format!(
            "{{\"error\":\"more than {} pages follow live updates; try again later\"}}",
            shared.config.max_live
        );
        let _ = req.respond(
            tiny_http::Response::from_string(body)
                .with_status_code(503)
                .with_header(super::header("Content-Type", "application/json")),
        );
        return;
    }
    let (n, rx) = shared.live.subscribe(id);
    let spawned = std::thread::Builder::new()
        .name("kith-http-page".into())
        .spawn({
            let shared = shared.clone();
            move || {
                let mut w = req.into_writer();
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 1000\n: following\n\n";
                let mut ok = w.write_all(head.as_bytes()).and_then(|_| w.flush()).is_ok();
                while ok && !shared.shutdown.load(Ordering::SeqCst) {
                    let chunk = match rx.recv_timeout(KEEPALIVE) {
                        Ok(event) => format!("event: change\ndata: {event}\n\n"),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => ": keepalive\n\n".into(),
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    };
                    ok = w.write_all(chunk.as_bytes()).and_then(|_| w.flush()).is_ok();
                }
                shared.live.unsubscribe(id, n);
                shared.live_pages.fetch_sub(1, Ordering::SeqCst);
            }
        });
    if spawned.is_err() {
        shared.live.unsubscribe(id, n);
        shared.live_pages.fetch_sub(1, Ordering::SeqCst);
    }
}
