//! Attribute templates and reads the sealing and signing keys share.

use std::fmt::Display;

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;

use super::error::{ck, OpError};

/// The template of a key keyward creates that never leaves the token: on the token, private,
/// sensitive and never extractable, with `usage` (flags, never key material: they are copied)
/// saying what it may be used for.
pub(super) fn resident(usage: &[Attribute]) -> Vec<Attribute> {
    let mut template = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
    ];
    template.extend_from_slice(usage);
    template
}

/// The attributes `types` of the object `handle`, in that order (`None` where the token
/// returned none); `doing` names the read in an error.
pub(super) fn read<const N: usize>(
    session: &Session,
    handle: ObjectHandle,
    types: [AttributeType; N],
    doing: impl Display,
) -> Result<[Option<Attribute>; N], OpError> {
    let attrs = session.get_attributes(handle, &types).map_err(ck(doing))?;
    let mut out = std::array::from_fn(|_| None);
    for attr in attrs {
        if let Some(i) = types.iter().position(|t| *t == attr.attribute_type()) {
            out[i] = Some(attr);
        }
    }
    Ok(out)
}

/// The public key bytes `types` (EC parameters and point, RSA modulus and exponent) of the
/// object `handle`, in that order.
pub(super) fn public_bytes<const N: usize>(
    session: &Session,
    handle: ObjectHandle,
    types: [AttributeType; N],
) -> Result<[Option<Vec<u8>>; N], OpError> {
    Ok(read(session, handle, types, "reading the public key")?.map(bytes))
}

/// The bytes of a byte-string attribute (EC parameters and points, RSA components).
pub(super) fn bytes(attr: Option<Attribute>) -> Option<Vec<u8>> {
    match attr? {
        Attribute::EcParams(b)
        | Attribute::EcPoint(b)
        | Attribute::Modulus(b)
        | Attribute::PublicExponent(b) => Some(b),
        _ => None,
    }
}
