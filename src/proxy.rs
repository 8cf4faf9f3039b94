//! The HTTP side, in stage files: the listener (accept, TLS, shutdown), the transport checks,
//! client authentication, the pipeline, responses, the state (long-lived resources and a
//! swappable snapshot) and the forwarding client. The only module that knows hyper and HTTP
//! status codes.

mod admin;
mod admin_client;
mod auth;
mod backoff;
pub mod clock;
mod explain;
mod fault;
mod forward;
pub mod fuzzing;
mod host;
mod in_flight;
mod keycheck;
pub mod kill;
mod known;
mod limits;
mod listener;
mod outcome;
mod pipeline;
mod probes;
mod reload;
mod respond;
mod restart;
mod routing;
mod serving;
mod started;
mod state;
pub mod tls;
mod transport;
mod versions;
mod weights;
mod ws;
mod ws_upstream;

pub use admin::{run_admin, Admin};
pub use admin_client::{admin_call, AdminAnswer, AdminRequest};
pub use explain::explain;
pub use keycheck::{check_keys, check_keys_once, keep_checking_keys, Finding, RECREATE};
pub use limits::raise_open_files;
pub use listener::{run, run_all, Listening, SHUTDOWN_GRACE};
pub use reload::{reload, ReloadError, Reloaded};
pub use state::{Resources, Snapshot, State};
pub use versions::watch_key_versions;
