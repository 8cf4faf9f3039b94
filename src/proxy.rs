//! The HTTP side: listener, canonical request, forwarding client.

pub mod canonical;
pub mod forward;
pub mod reject;
pub mod server;
pub mod tls;
