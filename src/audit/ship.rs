//! Shipping audit lines off the host: one syslog line per checkpoint (and, under `[audit]
//! ship_records = true`, per record) to a unix datagram socket (`/dev/log`, which journald and
//! rsyslog read), so a copy lives where the proxy host cannot rewrite it once it is forwarded on.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

/// The socket lines go to when `[audit] checkpoint_socket` / `ship_records_socket` is not set.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// What a [`Shipper`] sends: its syslog priority and how its failures are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shipping {
    /// Signed chain heads (`keyward-checkpoint ...`): facility auth, severity notice.
    Checkpoints,
    /// Each record's line, exactly as in the file: facility auth, severity info.
    Records,
}

impl Shipping {
    /// `<PRI>`: facility auth (4) * 8 + severity.
    fn priority(self) -> u8 {
        match self {
            Shipping::Checkpoints => 4 * 8 + 5,
            Shipping::Records => 4 * 8 + 6,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Shipping::Checkpoints => "audit checkpoints",
            Shipping::Records => "audit records",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Shipping::Checkpoints => "a deleted tail of the log will not be detectable from the shipped copies until this works again",
            Shipping::Records => "the records written meanwhile are in the audit file only",
        }
    }
}

/// An unbound datagram socket and the path it sends to. Sending never blocks: a syslog daemon
/// that does not read must not stall the audit log.
pub struct Shipper {
    socket: UnixDatagram,
    to: PathBuf,
    kind: Shipping,
    failing: bool,
}

impl Shipper {
    pub fn new(to: &Path, kind: Shipping) -> std::io::Result<Shipper> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Shipper {
            socket,
            to: to.to_path_buf(),
            kind,
            failing: false,
        })
    }

    /// Sends `payload` as one RFC 3164 line `<PRI>keyward[PID]: payload`. A failure is logged
    /// once (and its end once), never returned: the line is in the file either way.
    pub fn send(&mut self, payload: &[u8]) {
        let mut line = format!(
            "<{}>keyward[{}]: ",
            self.kind.priority(),
            std::process::id()
        )
        .into_bytes();
        line.extend_from_slice(payload);
        let (what, socket) = (self.kind.what(), self.to.display());
        match self.socket.send_to(&line, &self.to) {
            Ok(_) if self.failing => {
                self.failing = false;
                tracing::info!(socket = %socket, "{what} are shipped again");
            }
            Ok(_) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(socket = %socket, error = %e, "cannot ship {what} to syslog; {}", self.kind.consequence());
            }
            Err(_) => {}
        }
    }
}
