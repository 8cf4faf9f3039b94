//! The decision: may this client send this canonical request?
//!
//! Two layers, in order (DESIGN.md, "Policy"):
//! 1. the exchange's hard deny (explicit endpoint list and keyword guard), which no configuration
//!    can lift;
//! 2. the client's allowlist, default deny: a rule names a method and a path (or a preset of
//!    them), and may constrain parameter values and decimal maxima.
//!
//! Every [`Decision`] names the rule that allowed it or the reason it was denied.
//!
//! * `rule`: allow rules and their constraints;
//! * `decide`: [`decide`] → [`Decision`] / [`Denial`];
//! * `compile`: the allowlist compiler, from the entries the configuration hands over;
//! * [`rate`]: per-client rate limits.

mod check;
mod compile;
mod decide;
pub mod rate;
mod rule;

pub use check::{check, Caller, Checked, Permit, HARD_DENY_CODE, PERMISSION_CHECK};
pub use compile::{compile, AllowEntry, AllowError, Location, RuleEntry};
pub use decide::{decide, public_rule, Decision, Denial};
pub use rule::{parse_decimal, Allowlist, Rule, NOTIONAL};
