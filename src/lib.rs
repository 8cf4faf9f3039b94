//! keyward: an allowlisting, signing HTTP proxy that keeps exchange API secrets sealed to an HSM.
//!
//! The request path is `proxy` → `policy` → `exchange` (sign) → `audit` → forward; see DESIGN.md.

pub mod anomaly;
pub mod audit;
pub mod config;
pub mod doctor;
pub mod error;
pub mod exchange;
pub mod key;
pub mod metrics;
pub mod order;
pub mod policy;
pub mod provision;
pub mod proxy;
pub mod request;
pub mod rotation;
pub mod secret;
pub mod secure_file;
pub mod session;
pub mod startup;
pub mod token;
pub mod vault;

pub use error::{Error, ErrorKind, Result};
