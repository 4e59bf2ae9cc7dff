//! The worker side of the protocol: one event, one flushed JSON line.

use std::io::Write;

use crate::ledger::Event;

/// Writes an event to stdout and flushes it. If the harness is gone there is
/// nobody to report to, so the worker exits rather than act unobserved.
pub fn emit(event: &Event) {
    let mut out = std::io::stdout().lock();
    let ok = serde_json::to_writer(&mut out, event).is_ok() && out.write_all(b"\n").is_ok() && out.flush().is_ok();
    if !ok {
        std::process::exit(3);
    }
}
