//! A `[[client]]`'s anomaly triggers: `on_hard_deny`, `on_new_source`, `deny_burst`.

use std::time::Duration;

use serde::Deserialize;

use crate::anomaly::{DenyBurst, Reaction, Triggers};
use crate::error::{Error, Result};

/// The longest `deny_burst.window_s` (a day).
const MAX_WINDOW_S: u64 = 86_400;
/// The largest `deny_burst.count`.
const MAX_COUNT: u32 = 100_000;

/// The three keys as written in the `[[client]]` table.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriggers {
    pub(super) on_hard_deny: Option<String>,
    pub(super) on_new_source: Option<String>,
    /// Read here (not by the client table) so that its errors name the key.
    pub(super) deny_burst: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDenyBurst {
    count: u32,
    window_s: u64,
    #[serde(default)]
    action: Option<String>,
}

fn reaction(key: &str, client: &str, text: Option<&str>, default: Reaction) -> Result<Reaction> {
    match text {
        None => Ok(default),
        Some(t) => Reaction::parse(t).ok_or_else(|| {
            Error::config(format!(
                "{key} ({client}): {t:?} is not \"disable\" or \"log\""
            ))
        }),
    }
}

impl RawTriggers {
    /// `key` is the client's table (`client[N]`) for errors.
    pub(super) fn validate(self, key: &str, client: &str) -> Result<Triggers> {
        let default = Triggers::default();
        let deny_burst = match self.deny_burst {
            None => None,
            Some(value) => {
                let b: RawDenyBurst = value.try_into().map_err(|e| {
                    Error::config(format!(
                        "{key}.deny_burst ({client}): {}; write {{ count = 20, window_s = 60, action = \"disable\" }}",
                        e.to_string().trim()
                    ))
                })?;
                if b.count == 0 || b.count > MAX_COUNT {
                    return Err(Error::config(format!(
                        "{key}.deny_burst.count ({client}): {} is not between 1 and {MAX_COUNT}",
                        b.count
                    )));
                }
                if b.window_s == 0 || b.window_s > MAX_WINDOW_S {
                    return Err(Error::config(format!(
                        "{key}.deny_burst.window_s ({client}): {} is not between 1 and {MAX_WINDOW_S} seconds",
                        b.window_s
                    )));
                }
                Some(DenyBurst {
                    count: b.count,
                    window: Duration::from_secs(b.window_s),
                    reaction: reaction(
                        &format!("{key}.deny_burst.action"),
                        client,
                        b.action.as_deref(),
                        Reaction::Disable,
                    )?,
                })
            }
        };
        Ok(Triggers {
            on_hard_deny: reaction(
                &format!("{key}.on_hard_deny"),
                client,
                self.on_hard_deny.as_deref(),
                default.on_hard_deny,
            )?,
            on_new_source: reaction(
                &format!("{key}.on_new_source"),
                client,
                self.on_new_source.as_deref(),
                default.on_new_source,
            )?,
            deny_burst,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Triggers> {
        let raw: RawTriggers = toml::from_str(text).map_err(|e| Error::config(e.to_string()))?;
        raw.validate("client[0]", "bot")
    }

    #[test]
    fn the_three_keys_parse_with_their_defaults() {
        assert_eq!(parse("").unwrap(), Triggers::default());
        let t = parse(
            "on_hard_deny = \"log\"\non_new_source = \"disable\"\n\
             deny_burst = { count = 20, window_s = 60 }",
        )
        .unwrap();
        assert_eq!(t.on_hard_deny, Reaction::Log);
        assert_eq!(t.on_new_source, Reaction::Disable);
        assert_eq!(
            t.deny_burst,
            Some(DenyBurst {
                count: 20,
                window: Duration::from_secs(60),
                reaction: Reaction::Disable
            })
        );
        let t = parse("deny_burst = { count = 2, window_s = 5, action = \"log\" }").unwrap();
        assert_eq!(t.deny_burst.unwrap().reaction, Reaction::Log);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        for (text, key) in [
            ("on_hard_deny = \"block\"", "client[0].on_hard_deny"),
            ("on_new_source = \"Disable\"", "client[0].on_new_source"),
            (
                "deny_burst = { count = 0, window_s = 5 }",
                "deny_burst.count",
            ),
            (
                "deny_burst = { count = 3, window_s = 0 }",
                "deny_burst.window_s",
            ),
            (
                "deny_burst = { count = 3, window_s = 5, action = \"x\" }",
                "deny_burst.action",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains(key), "{text}: {e}");
        }
        let e = parse("deny_burst = { count = 3 }").unwrap_err();
        assert!(e.to_string().contains("client[0].deny_burst"), "{e}");
    }
}
