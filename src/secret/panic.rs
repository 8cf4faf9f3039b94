//! A panic hook that never prints the panic's message.
//!
//! The standard hook writes the message (`panic!("{x}")`, an `unwrap` on an error that quotes
//! its input, `assert_eq!` with both sides) to stderr, and stderr is keyward's log. A message can
//! carry anything the panicking code held: a header value, a decoded parameter, a buffer that was
//! about to become a secret. So the hook reports where the panic happened (file, line, thread),
//! which is enough to find the bug, and withholds what it said.

use std::io::Write;
use std::panic::PanicHookInfo;

/// Replaces the process's panic hook with [`report`]. Call once at start-up, before any secret
/// is read.
pub fn redact_panics() {
    std::panic::set_hook(Box::new(|info| {
        let line = report(info);
        if tracing::dispatcher::has_been_set() {
            tracing::error!("{line}");
        } else {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }));
}

/// The one line keyward logs for a panic: thread and location, never the payload.
fn report(info: &PanicHookInfo<'_>) -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    let at = info.location().map_or_else(
        || "an unknown location".to_owned(),
        |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
    );
    format!(
        "thread '{name}' panicked at {at} (keyward withholds the panic message: it may carry \
         secret material; report the location)"
    )
}
