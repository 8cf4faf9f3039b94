//! The kill switch: clients and credentials an operator (or, later, an anomaly trigger) has
//! disabled. Shared by every snapshot's clients, so a reload keeps it; checked at admission,
//! which runs for every HTTP request and every WebSocket frame, so a disabled client's next
//! request gets 403 `client_disabled` and its open sessions refuse their next frame, while
//! requests already past admission finish.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use crate::request::Refusal;

/// The disabled names (client and credential names are validated, never secret).
#[derive(Default)]
pub struct KillSwitch {
    clients: Mutex<BTreeSet<String>>,
    credentials: Mutex<BTreeSet<String>>,
}

/// What the switch acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Client,
    Credential,
}

impl KillSwitch {
    fn set(&self, target: Target) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        match target {
            Target::Client => &self.clients,
            Target::Credential => &self.credentials,
        }
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
    }

    /// Disables `name`; returns whether it was enabled before.
    pub fn disable(&self, target: Target, name: &str) -> bool {
        self.set(target).insert(name.to_owned())
    }

    /// Enables `name`; returns whether it was disabled before.
    pub fn enable(&self, target: Target, name: &str) -> bool {
        self.set(target).remove(name)
    }

    pub fn is_disabled(&self, target: Target, name: &str) -> bool {
        self.set(target).contains(name)
    }

    /// Admission: refuses a disabled client, then a disabled credential.
    pub fn admit(&self, client: &str, credential: &str) -> Result<(), Refusal> {
        if self.is_disabled(Target::Client, client) {
            return Err(Refusal::forbidden(
                "client_disabled",
                format!(
                    "client {client} is disabled by the operator; `keyward admin enable --client {client}` enables it"
                ),
            ));
        }
        if self.is_disabled(Target::Credential, credential) {
            return Err(Refusal::forbidden(
                "credential_disabled",
                format!(
                    "credential {credential} is disabled by the operator; `keyward admin enable --credential {credential}` enables it"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_client_or_credential_is_refused_until_enabled() {
        let kill = KillSwitch::default();
        assert!(kill.admit("bot", "main").is_ok());
        assert!(kill.disable(Target::Client, "bot"));
        assert!(!kill.disable(Target::Client, "bot"));
        assert_eq!(
            kill.admit("bot", "main").unwrap_err().code,
            "client_disabled"
        );
        assert!(kill.admit("other", "main").is_ok());
        assert!(kill.enable(Target::Client, "bot"));
        assert!(kill.admit("bot", "main").is_ok());
        kill.disable(Target::Credential, "main");
        assert_eq!(
            kill.admit("bot", "main").unwrap_err().code,
            "credential_disabled"
        );
        assert!(kill.admit("bot", "spare").is_ok());
        assert!(!kill.enable(Target::Client, "bot"));
    }
}
