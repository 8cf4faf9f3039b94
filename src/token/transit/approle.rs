//! AppRole login (`[token] approle`): keyward logs in with its role_id and secret_id
//! (`POST auth/<mount>/login`) at the first call, keeps the client token in locked memory, and
//! logs in again on the first call after two thirds of the token's TTL have passed (so the token
//! is replaced before it expires, as long as keyward makes calls), and when the server refuses
//! the token (revoked). The secret_id is re-read from its source at each login, so an operator
//! can replace it without a restart; it needs enough uses (`secret_id_num_uses = 0`, or a
//! fresh one before they run out).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use super::settings::{AppRole, VaultTokenSource};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Sends one unauthenticated POST to `/v1/<path>` with a JSON body: the answer's status and body.
pub(super) type Post<'a> = &'a dyn Fn(&str, Vec<u8>) -> Result<(StatusCode, Zeroizing<Vec<u8>>)>;

/// The token of the last login and when to log in again.
#[derive(Default)]
pub(super) struct Login(Mutex<Option<(SecretBytes, Instant)>>);

#[derive(Deserialize)]
struct Answer {
    auth: Auth,
}

#[derive(Deserialize)]
struct Auth {
    client_token: String,
    /// Seconds; 0 for a token that never expires.
    lease_duration: u64,
}

impl Login {
    /// The current token, logging in first when there is none or it is due for replacement.
    pub fn token(&self, post: Post<'_>, role: &AppRole) -> Result<SecretBytes> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, renew_at)) = held.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let (token, ttl) = login(post, role)?;
        let renew_at = match ttl {
            0 => Instant::now() + Duration::from_secs(u64::from(u32::MAX)),
            s => Instant::now() + Duration::from_millis(s * 2000 / 3),
        };
        tracing::info!(
            mount = %role.mount,
            ttl_s = ttl,
            "logged in to Vault with AppRole"
        );
        *held = Some((token.clone(), renew_at));
        Ok(token)
    }

    /// Drops the token (the server refused it); `false` if there was none to drop.
    pub fn forget(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
    }
}

fn login(post: Post<'_>, role: &AppRole) -> Result<(SecretBytes, u64)> {
    let source = VaultTokenSource::AppRole(role.clone());
    let secret_id = source.read()?;
    let secret_text = std::str::from_utf8(secret_id.expose())
        .map_err(|_| Error::token(format!("the AppRole secret_id from {source} is not text")))?;
    let mut body = serde_json::json!({ "role_id": role.role_id, "secret_id": secret_text })
        .to_string()
        .into_bytes();
    let (status, reply) = post(
        &format!("auth/{}/login", role.mount),
        std::mem::take(&mut body),
    )?;
    body.zeroize();
    if status != StatusCode::OK {
        let fix = match status {
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
                "the role_id or secret_id is wrong, or the secret_id expired or ran out of uses: \
                 give keyward a fresh secret_id (`bao write -f auth/approle/role/ROLE/secret-id`)"
            }
            StatusCode::NOT_FOUND => {
                "no AppRole auth method at that mount: check [token] approle.mount"
            }
            _ => "see the server's log",
        };
        return Err(Error::token(format!(
            "the AppRole login (auth/{}) was refused (HTTP {}): {fix}",
            role.mount,
            status.as_u16()
        )));
    }
    let mut answer: Answer = serde_json::from_slice(&reply).map_err(|_| {
        Error::token(format!(
            "the answer to the AppRole login (auth/{}) has no client token",
            role.mount
        ))
    })?;
    let token = SecretBytes::copy_from(answer.auth.client_token.as_bytes());
    answer.auth.client_token.zeroize();
    Ok((token, answer.auth.lease_duration))
}
