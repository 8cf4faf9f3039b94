//! Shipping checkpoints off the host: one syslog line per checkpoint to a unix datagram socket
//! (`/dev/log`, which journald and rsyslog read), so a copy of the chain head lives where the
//! proxy host cannot rewrite it once it is forwarded on.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

/// `<PRI>` for facility auth (4), severity notice (5): 4 * 8 + 5.
const PRIORITY: u8 = 37;

/// The socket checkpoints go to when `[audit] checkpoint_socket` is not set.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// An unbound datagram socket and the path it sends to. Sending never blocks: a syslog daemon
/// that does not read must not stall the audit log.
pub struct Shipper {
    socket: UnixDatagram,
    to: PathBuf,
    failing: bool,
}

impl Shipper {
    pub fn new(to: &Path) -> std::io::Result<Shipper> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Shipper {
            socket,
            to: to.to_path_buf(),
            failing: false,
        })
    }

    /// Sends `payload` as one RFC 3164 line `<37>keyward[PID]: payload`. A failure is logged
    /// once (and its end once), never returned: the record is in the file either way.
    pub fn send(&mut self, payload: &str) {
        let line = format!("<{PRIORITY}>keyward[{}]: {payload}", std::process::id());
        match self.socket.send_to(line.as_bytes(), &self.to) {
            Ok(_) if self.failing => {
                self.failing = false;
                tracing::info!(socket = %self.to.display(), "audit checkpoints are shipped again");
            }
            Ok(_) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(socket = %self.to.display(), error = %e, "cannot ship an audit checkpoint to syslog; a deleted tail of the log will not be detectable from the shipped copies until this works again");
            }
            Err(_) => {}
        }
    }
}
