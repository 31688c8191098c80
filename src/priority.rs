//! Lowering a background thread's scheduling priority (Linux `nice`), for
//! the threads that must not take the CPU from those serving users: the
//! interaction rules' thread and the wire's write pool.

/// Lowers the calling thread's priority to nice 5 (Linux; elsewhere a
/// no-op). A failure leaves the priority as it was.
pub(crate) fn below_normal() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` and `setpriority` on this thread's own id have no
    // memory effects.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 5);
    }
}
