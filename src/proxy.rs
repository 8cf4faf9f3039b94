//! The HTTP side: listener, pipeline, responses, forwarding client. The only module that knows
//! hyper and HTTP status codes.

pub mod forward;
pub mod respond;
pub mod server;
pub mod tls;
