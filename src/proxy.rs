//! The HTTP side: listener, canonical request, forwarding client.

pub mod canonical;
pub mod reject;
pub mod forward;
pub mod server;
