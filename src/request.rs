//! The vocabulary every stage of the pipeline speaks, with no HTTP server types and no status
//! codes: [`Method`], strict [`Params`] and [`Json`], the one canonicaliser that turns the parts
//! of a bot's request into a [`CanonicalRequest`], and the [`Refusal`] that says why not.
//!
//! The REST listener, the WebSocket relay and `policy explain` all feed this module the same
//! parts (method, exchange path, query, content type, body) and get the same answer.

mod canonical;
mod json;
mod method;
mod params;
mod parts;
mod refusal;

pub use canonical::{
    canonicalise, check_path, Body, CanonRules, CanonicalRequest, Serialised, FORM_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
};
pub use json::{word_count, Json, MAX_DEPTH};
pub use method::Method;
pub use params::{parse_params, Params, MAX_KEY_LEN, MAX_PARAMS, MAX_VALUE_LEN};
pub use parts::RequestParts;
pub use refusal::{Refusal, RefusalKind};
