//! Loading a PKCS#11 module once per process, and choosing the token a URI names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::slot::{Slot, TokenInfo};

use super::error::ck_error;
use crate::error::{Error, Result};
use crate::token::Pkcs11Uri;

/// An initialized module shared by every token on it, and the gate that lets
/// [`reinitialise`] finalize it only while no call is in flight: every PKCS#11 call through the
/// pool holds `gate` for reading.
#[derive(Clone, Debug)]
pub(super) struct Module {
    pub(super) ctx: Pkcs11,
    pub(super) gate: Arc<RwLock<()>>,
}

/// Process-wide, initialized PKCS#11 contexts, one per module. Finalized only by
/// [`reinitialise`], when a token has gone bad in a way only a new `C_Initialize` mends.
pub(super) fn context(module: &Path) -> Result<Module> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Module>>> = OnceLock::new();
    let shown = module.display();
    let canonical = module.canonicalize().map_err(|e| {
        Error::token(format!(
            "PKCS#11 module {shown} cannot be used ({e}); install softhsm2 or set `module` in the \
             [token] section"
        ))
        .with_source(e)
    })?;
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(module) = contexts.get(&canonical) {
        return Ok(module.clone());
    }
    let ctx = Pkcs11::new(&canonical)
        .map_err(|e| ck_error(format_args!("loading PKCS#11 module {shown}"), e))?;
    initialize(&ctx)
        .map_err(|e| ck_error(format_args!("initializing PKCS#11 module {shown}"), e))?;
    let module = Module {
        ctx,
        gate: Default::default(),
    };
    contexts.insert(canonical, module.clone());
    Ok(module)
}

fn initialize(ctx: &Pkcs11) -> std::result::Result<(), CkError> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `C_Finalize` and `C_Initialize` again, with no call in flight. SoftHSM 2.6 marks a token whose
/// folder vanished invalid for the life of the initialization (`C_GetTokenInfo` answers
/// `CKR_GENERAL_ERROR` even after the folder is back); only a new initialization reads it again.
/// Every session of every token on the module ends: their pools see `CKR_SESSION_HANDLE_INVALID`
/// and open new ones. A finalize that fails (a module left uninitialized by an earlier failed
/// attempt) is ignored; the initialize decides.
pub(super) fn reinitialise(module: &Module) -> Result<()> {
    let _alone = module.gate.write().unwrap_or_else(|p| p.into_inner());
    let _ = module.ctx.clone().finalize();
    initialize(&module.ctx).map_err(|e| ck_error("initializing the PKCS#11 module again", e))
}

/// Chooses the one initialized token matching the URI's token attributes. Slot numbers are used
/// only when the URI gives `slot-id`.
pub(super) fn select_token(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<(Slot, TokenInfo)> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| ck_error("listing PKCS#11 slots", e))?;
    let mut seen = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| ck_error(format_args!("reading token info of slot {}", slot.id()), e))?;
        seen.push(format!(
            "'{}' (serial {})",
            info.label().trim_end(),
            info.serial_number().trim_end()
        ));
        if token_matches(&info, uri) {
            matching.push((slot, info));
        }
    }
    match matching.len() {
        1 => Ok(matching.pop().expect("one element")),
        0 if seen.is_empty() => Err(Error::token(format!(
            "no initialized PKCS#11 token found for {uri}; create one (e.g. `softhsm2-util \
             --init-token --free --label keyward`) or check SOFTHSM2_CONF"
        ))),
        0 => Err(Error::token(format!(
            "no PKCS#11 token matches {uri}; tokens seen: {}",
            seen.join(", ")
        ))),
        n => Err(Error::token(format!(
            "{n} PKCS#11 tokens match {uri}: {}; add serial= to the token URI to choose one",
            matching
                .iter()
                .map(|(_, i)| format!(
                    "'{}' (serial {})",
                    i.label().trim_end(),
                    i.serial_number().trim_end()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn token_matches(info: &TokenInfo, uri: &Pkcs11Uri) -> bool {
    let same = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|want| want == have.trim_end())
    };
    same(&uri.token, info.label())
        && same(&uri.serial, info.serial_number())
        && same(&uri.manufacturer, info.manufacturer_id())
        && same(&uri.model, info.model())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_module_says_what_to_do() {
        let err = context(Path::new("/nonexistent/libpkcs11.so")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/libpkcs11.so"), "{msg}");
        assert!(msg.contains("install softhsm2"), "{msg}");
    }
}
