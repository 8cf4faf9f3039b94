//! keyward: an allowlisting, signing HTTP proxy that keeps exchange API secrets sealed to an HSM.
//!
//! The request path is `proxy` → `policy` → `exchange` (sign) → `audit` → forward; see DESIGN.md.

pub mod audit;
pub mod error;
pub mod secret;

pub use error::{Error, ErrorKind, Result};
