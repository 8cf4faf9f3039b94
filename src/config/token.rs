//! The `[token]` section as written, and its checks: which backend holds the sealing key
//! (`kind`), where it is, and where the PIN comes from. Each backend's keys are refused under the
//! other (`uri` means nothing to a YubiKey), so a half-edited section fails with the key's name.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::resolve;
use crate::error::{Error, Result};
use crate::token::aws_kms_checks::{check_endpoint, check_key, check_region};
use crate::token::transit_checks::{check_address, check_name};
use crate::token::{
    AppRole, AwsKmsConfig, Backend, PinSource, PivSlot, Pkcs11Uri, SecretFrom, TokenConfig,
    TransitConfig, VaultTokenSource,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    kind: Option<String>,
    // kind = "pkcs11"
    module: Option<PathBuf>,
    uri: Option<String>,
    // kind = "yubikey"
    serial: Option<i64>,
    slot: Option<String>,
    pin: Option<RawSecretSource>,
    // kind = "vault"
    address: Option<String>,
    mount: Option<String>,
    key: Option<String>,
    token: Option<RawSecretSource>,
    approle: Option<RawAppRole>,
    namespace: Option<String>,
    ca: Option<PathBuf>,
    // kind = "aws-kms" (with `key`)
    region: Option<String>,
    endpoint_url: Option<String>,
}

/// `pin`/`token = { file | env }`, or the secret itself written in, which is refused without echoing
/// it (a TOML type error would quote the line).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSecretSource {
    Source(RawPin),
    /// Anything else: the secret itself (a string or number), or a table with other keys.
    Other(toml::Value),
}

const INLINE_PIN: &str = "token.pin: never write the PIN itself into the configuration: put it \
     in a file only keyward's user can read and set pin = { file = \"/path/to/pin\" }, or use \
     pin = { env = \"VAR\" }";
const INLINE_TOKEN: &str = "token.token: never write the Vault token itself into the \
     configuration (it would be in every copy and backup of it): put it in a file only keyward's \
     user can read and set token = { file = \"/path/to/vault-token\" }, or use token = { env = \
     \"VAR\" }";

const TOKEN_SOURCE: &str = "token.token: give exactly one of token = { file = \
     \"/path/to/vault-token\" } or token = { env = \"VAR\" }";

/// `approle = { role_id = "...", secret_id = { file | env }, mount = "approle" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppRole {
    role_id: String,
    secret_id: RawSecretSource,
    mount: Option<String>,
}

const INLINE_SECRET_ID: &str = "token.approle.secret_id: never write the secret_id itself into \
     the configuration: put it in a file only keyward's user can read and set secret_id = { file \
     = \"/path/to/secret-id\" }, or use secret_id = { env = \"VAR\" }";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    file: Option<PathBuf>,
    env: Option<String>,
}

impl RawToken {
    pub(super) fn validate(mut self, base: &Path) -> Result<TokenConfig> {
        let kind = self.kind.clone().unwrap_or_else(|| "pkcs11".into());
        let kind = kind.as_str();
        if kind == "vault" {
            return self.validate_vault(base);
        }
        if kind == "aws-kms" {
            return self.validate_aws_kms();
        }
        refuse_keys(
            kind,
            &[
                ("region", self.region.is_some()),
                ("endpoint_url", self.endpoint_url.is_some()),
                ("address", self.address.is_some()),
                ("mount", self.mount.is_some()),
                ("key", self.key.is_some()),
                ("token", self.token.is_some()),
                ("approle", self.approle.is_some()),
                ("namespace", self.namespace.is_some()),
                ("ca", self.ca.is_some()),
            ],
        )?;
        let pin = match self.pin.take() {
            Some(RawSecretSource::Other(v)) if !v.is_table() => {
                return Err(Error::config(INLINE_PIN));
            }
            Some(RawSecretSource::Source(p)) => Some((p.file, p.env)),
            Some(RawSecretSource::Other(_)) | None => None,
        };
        let pin = match pin {
            Some((Some(f), None)) => PinSource::File(resolve(base, &f)),
            Some((None, Some(e))) if !e.is_empty() => PinSource::Env(e),
            _ => {
                return Err(Error::config(
                    "token.pin: give exactly one of pin = { file = \"/path/to/pin\" } or pin = { env = \"VAR\" }",
                ))
            }
        };
        let backend = match kind {
            "pkcs11" => {
                refuse_keys(
                    kind,
                    &[
                        ("serial", self.serial.is_some()),
                        ("slot", self.slot.is_some()),
                    ],
                )?;
                let module = self.module.ok_or_else(|| {
                    Error::config(
                        "token.module: required for a PKCS#11 token: the module's path, e.g. \
                         module = \"/usr/lib/softhsm/libsofthsm2.so\"",
                    )
                })?;
                let uri = self.uri.ok_or_else(|| {
                    Error::config(
                        "token.uri: required for a PKCS#11 token: the RFC 7512 URI of the token \
                         and key, e.g. uri = \"pkcs11:token=keyward;object=keyward-seal\"",
                    )
                })?;
                let uri: Pkcs11Uri = uri.parse().map_err(|e: Error| e.context("token.uri"))?;
                Backend::Pkcs11 {
                    module: resolve(base, &module),
                    uri,
                }
            }
            "yubikey" => {
                refuse_keys(
                    kind,
                    &[
                        ("module", self.module.is_some()),
                        ("uri", self.uri.is_some()),
                    ],
                )?;
                let serial = self
                    .serial
                    .map(|n| {
                        u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                            Error::config(format!(
                                "token.serial: {n} is not a YubiKey serial number (the number \
                                 printed on the key, or `ykman list --serials`)"
                            ))
                        })
                    })
                    .transpose()?;
                let slot = self.slot.ok_or_else(|| {
                    Error::config(
                        "token.slot: required for a YubiKey: the PIV slot of the sealing key, \
                         e.g. slot = \"9d\" (or a retired slot \"82\"..\"95\")",
                    )
                })?;
                let slot: PivSlot = slot.parse().map_err(|e: Error| e.context("token.slot"))?;
                Backend::YubiKey { serial, slot }
            }
            other => {
                return Err(Error::config(format!(
                    "token.kind: unknown kind {other:?}; use \"pkcs11\" (the default: an HSM or \
                     SoftHSM through its PKCS#11 module), \"yubikey\" (a YubiKey's PIV applet), \
                     \"vault\" (a HashiCorp Vault / OpenBao Transit key) or \"aws-kms\""
                )))
            }
        };
        Ok(TokenConfig {
            backend,
            pin: Some(pin),
        })
    }

    fn validate_aws_kms(self) -> Result<TokenConfig> {
        refuse_keys(
            "aws-kms",
            &[
                ("module", self.module.is_some()),
                ("uri", self.uri.is_some()),
                ("serial", self.serial.is_some()),
                ("slot", self.slot.is_some()),
                ("pin", self.pin.is_some()),
                ("address", self.address.is_some()),
                ("mount", self.mount.is_some()),
                ("token", self.token.is_some()),
                ("namespace", self.namespace.is_some()),
                ("ca", self.ca.is_some()),
            ],
        )?;
        let region = self.region.ok_or_else(|| {
            Error::config("token.region: required for AWS KMS, e.g. region = \"eu-west-1\"")
        })?;
        check_region(&region).map_err(|why| Error::config(format!("token.region: {why}")))?;
        let key = self.key.ok_or_else(|| {
            Error::config(
                "token.key: required for AWS KMS: the sealing key's alias, key id or ARN, e.g. \
                 key = \"alias/keyward-seal\"",
            )
        })?;
        check_key(&key).map_err(|why| Error::config(format!("token.key: {why}")))?;
        let endpoint_url = self
            .endpoint_url
            .map(|url| check_endpoint(&url))
            .transpose()
            .map_err(|why| Error::config(format!("token.endpoint_url: {why}")))?;
        Ok(TokenConfig {
            backend: Backend::AwsKms(AwsKmsConfig {
                region,
                key,
                endpoint_url,
            }),
            pin: None,
        })
    }

    fn validate_vault(self, base: &Path) -> Result<TokenConfig> {
        refuse_keys(
            "vault",
            &[
                ("region", self.region.is_some()),
                ("endpoint_url", self.endpoint_url.is_some()),
                ("module", self.module.is_some()),
                ("uri", self.uri.is_some()),
                ("serial", self.serial.is_some()),
                ("slot", self.slot.is_some()),
                ("pin", self.pin.is_some()),
            ],
        )?;
        let address = self.address.ok_or_else(|| {
            Error::config(
                "token.address: required for a Vault token: the server's URL, e.g. address = \
                 \"https://vault.example:8200\"",
            )
        })?;
        let address = check_address(&address)
            .map_err(|why| Error::config(format!("token.address: {why}")))?;
        let mount = self.mount.unwrap_or_else(|| "transit".into());
        check_name(&mount, true).map_err(|why| Error::config(format!("token.mount: {why}")))?;
        let key = self.key.ok_or_else(|| {
            Error::config(
                "token.key: required for a Vault token: the Transit sealing key's name, e.g. key \
                 = \"keyward-seal\"",
            )
        })?;
        check_name(&key, false).map_err(|why| Error::config(format!("token.key: {why}")))?;
        let token = match (self.token, self.approle) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "token.approle: give either token = { ... } or approle = { ... }, not both",
                ))
            }
            (None, Some(role)) => VaultTokenSource::AppRole(approle(role, base)?),
            (token, None) => match secret_source(token, INLINE_TOKEN, TOKEN_SOURCE, base)? {
                SecretFrom::File(f) => VaultTokenSource::File(f),
                SecretFrom::Env(e) => VaultTokenSource::Env(e),
            },
        };
        if let Some(ns) = &self.namespace {
            if ns.is_empty() || ns.chars().any(|c| c.is_control() || c == ' ') {
                return Err(Error::config(
                    "token.namespace: a Vault namespace path such as \"team-a\" or \"org/team\"",
                ));
            }
        }
        Ok(TokenConfig {
            backend: Backend::Transit(TransitConfig {
                address,
                mount,
                key,
                token,
                namespace: self.namespace,
                ca: self.ca.map(|ca| resolve(base, &ca)),
            }),
            pin: None,
        })
    }
}

/// `{ file }` (resolved against `base`) or `{ env }`; the secret written in is refused with
/// `inline`, anything else with `shape`.
fn secret_source(
    raw: Option<RawSecretSource>,
    inline: &str,
    shape: &str,
    base: &Path,
) -> Result<SecretFrom> {
    let source = match raw {
        Some(RawSecretSource::Other(v)) if !v.is_table() => return Err(Error::config(inline)),
        Some(RawSecretSource::Source(t)) => Some((t.file, t.env)),
        Some(RawSecretSource::Other(_)) | None => None,
    };
    match source {
        Some((Some(f), None)) => Ok(SecretFrom::File(resolve(base, &f))),
        Some((None, Some(e))) if !e.is_empty() => Ok(SecretFrom::Env(e)),
        _ => Err(Error::config(shape)),
    }
}

fn approle(raw: RawAppRole, base: &Path) -> Result<AppRole> {
    let mount = raw.mount.unwrap_or_else(|| "approle".into());
    check_name(&mount, true).map_err(|why| Error::config(format!("token.approle.mount: {why}")))?;
    if raw.role_id.is_empty() || raw.role_id.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::config(
            "token.approle.role_id: the role's role_id (`bao read -field=role_id \
             auth/approle/role/ROLE/role-id`)",
        ));
    }
    let secret_id = secret_source(
        Some(raw.secret_id),
        INLINE_SECRET_ID,
        "token.approle.secret_id: give exactly one of secret_id = { file = \"/path\" } or \
         secret_id = { env = \"VAR\" }",
        base,
    )?;
    Ok(AppRole {
        mount,
        role_id: raw.role_id,
        secret_id,
    })
}

/// Keys of the other backend are an error, not silently ignored.
fn refuse_keys(kind: &str, present: &[(&str, bool)]) -> Result<()> {
    match present.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(Error::config(format!(
            "token.{key}: not used with kind = \"{kind}\"; remove it (or set the kind that uses it)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::token::{Backend, PinSource};
    use std::path::Path;

    /// A configuration of this `[token]` body (or section) and one credential.
    fn parse(token: &str) -> crate::error::Result<Config> {
        let token = token.replace("[token]", "");
        let text = format!(
            "[token]\n{token}\n[audit]\npath = \"audit.jsonl\"\nunkeyed = true\n[[credential]]\nname = \"c\"\n\
             exchange = \"binance\"\nvault = \"c.kwv\"\nvault_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n"
        );
        Config::parse(&text, Path::new("/etc/keyward"))
    }

    fn err(token: &str) -> String {
        parse(token).unwrap_err().to_string()
    }

    #[test]
    fn a_yubikey_token() {
        let c =
            parse("kind = \"yubikey\"\nserial = 12345678\nslot = \"9D\"\npin = { env = \"P\" }")
                .unwrap();
        match c.token.backend {
            Backend::YubiKey { serial, slot } => {
                assert_eq!(serial, Some(12345678));
                assert_eq!(slot.to_string(), "9d");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.token.pin, Some(PinSource::Env("P".into())));
        let c = parse("kind = \"yubikey\"\nslot = \"82\"\npin = { file = \"pin\" }").unwrap();
        assert!(matches!(
            c.token.backend,
            Backend::YubiKey { serial: None, .. }
        ));
        assert_eq!(
            c.token.pin,
            Some(PinSource::File("/etc/keyward/pin".into()))
        );
    }

    #[test]
    fn the_shipped_yubikey_examples_are_valid() {
        let native = parse(include_str!("../../hsm-config/tokens/yubikey.toml")).unwrap();
        assert!(matches!(
            native.token.backend,
            Backend::YubiKey {
                serial: Some(12345678),
                ..
            }
        ));
        let vault = parse(include_str!("../../hsm-config/tokens/vault.toml")).unwrap();
        assert!(matches!(vault.token.backend, Backend::Transit(ref t) if t.key == "keyward-seal"));
        let ykcs11 = parse(include_str!("../../hsm-config/tokens/ykcs11.toml")).unwrap();
        match ykcs11.token.backend {
            Backend::Pkcs11 { uri, .. } => {
                assert_eq!(uri.token.as_deref(), Some("YubiKey PIV #12345678"));
                assert_eq!(uri.id.as_deref(), Some(&[3u8][..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_vault_token() {
        let c = parse(
            "kind = \"vault\"\naddress = \"https://vault.example:8200\"\nkey = \"seal\"\n\
             token = { file = \"vault-token\" }\nnamespace = \"team\"\nca = \"ca.pem\"",
        )
        .unwrap();
        assert_eq!(c.token.pin, None);
        match c.token.backend {
            Backend::Transit(t) => {
                assert_eq!(t.mount, "transit");
                assert_eq!(t.key, "seal");
                assert_eq!(
                    t.token,
                    crate::token::VaultTokenSource::File("/etc/keyward/vault-token".into())
                );
                assert_eq!(t.ca.as_deref(), Some(Path::new("/etc/keyward/ca.pem")));
                assert_eq!(t.namespace.as_deref(), Some("team"));
            }
            other => panic!("{other:?}"),
        }
        let v = "kind = \"vault\"\naddress = \"http://127.0.0.1:8200\"\nkey = \"seal\"\n";
        for (extra, want) in [
            ("", "token.token: give exactly one of"),
            ("token = \"s.abc\"", "never write the Vault token itself"),
            (
                "token = { file = \"t\", env = \"T\" }",
                "give exactly one of",
            ),
            (
                "token = { env = \"T\" }\npin = { env = \"P\" }",
                "token.pin: not used with kind = \"vault\"",
            ),
            ("token = { env = \"T\" }\nmount = \"/x\"", "token.mount:"),
            (
                "token = { env = \"T\" }\nslot = \"9d\"",
                "token.slot: not used",
            ),
        ] {
            let e = err(&format!("{v}{extra}"));
            assert!(e.contains(want), "{extra:?}: {e}");
            assert!(!e.contains("s.abc"), "{e}");
        }
        let e = err("kind = \"vault\"\naddress = \"http://10.1.2.3:8200\"\nkey = \"k\"\ntoken = { env = \"T\" }");
        assert!(
            e.contains("token.address:") && e.contains("in clear"),
            "{e}"
        );
        let e = err("module = \"m.so\"\nuri = \"pkcs11:token=t\"\naddress = \"https://v\"\npin = { env = \"P\" }");
        assert!(
            e.contains("token.address: not used with kind = \"pkcs11\""),
            "{e}"
        );
    }

    #[test]
    fn an_approle_login() {
        let v = "kind = \"vault\"\naddress = \"http://127.0.0.1:8200\"\nkey = \"seal\"\n";
        let c = parse(&format!(
            "{v}approle = {{ role_id = \"r-1\", secret_id = {{ file = \"secret-id\" }} }}"
        ))
        .unwrap();
        match c.token.backend {
            Backend::Transit(t) => assert_eq!(
                t.token,
                crate::token::VaultTokenSource::AppRole(crate::token::AppRole {
                    mount: "approle".into(),
                    role_id: "r-1".into(),
                    secret_id: crate::token::SecretFrom::File("/etc/keyward/secret-id".into()),
                })
            ),
            other => panic!("{other:?}"),
        }
        for (extra, want) in [
            (
                "approle = { role_id = \"r\", secret_id = \"s.abc\" }",
                "never write the secret_id itself",
            ),
            (
                "approle = { role_id = \"r\", secret_id = { env = \"S\" } }\ntoken = { env = \"T\" }",
                "not both",
            ),
            (
                "approle = { role_id = \"r\", secret_id = { file = \"a\", env = \"S\" } }",
                "token.approle.secret_id: give exactly one",
            ),
            (
                "approle = { role_id = \"r\", secret_id = { env = \"S\" }, mount = \"/a\" }",
                "token.approle.mount:",
            ),
        ] {
            let e = err(&format!("{v}{extra}"));
            assert!(e.contains(want), "{extra:?}: {e}");
            assert!(!e.contains("s.abc"), "{e}");
        }
        let e = err("module = \"m.so\"\nuri = \"pkcs11:token=t\"\npin = { env = \"P\" }\napprole = { role_id = \"r\", secret_id = { env = \"S\" } }");
        assert!(e.contains("token.approle: not used"), "{e}");
    }

    #[test]
    fn an_aws_kms_token() {
        let c = parse(
            "kind = \"aws-kms\"\nregion = \"eu-west-1\"\nkey = \"alias/keyward-seal\"\n\
             endpoint_url = \"http://127.0.0.1:4566\"",
        )
        .unwrap();
        assert_eq!(c.token.pin, None);
        match c.token.backend {
            Backend::AwsKms(k) => {
                assert_eq!(k.region, "eu-west-1");
                assert_eq!(k.key, "alias/keyward-seal");
                assert_eq!(k.endpoint_url.unwrap().port_u16(), Some(4566));
            }
            other => panic!("{other:?}"),
        }
        let k = "kind = \"aws-kms\"\nregion = \"eu-west-1\"\n";
        for (body, want) in [
            (k.to_string(), "token.key: required for AWS KMS"),
            (
                "kind = \"aws-kms\"\nkey = \"alias/k\"".into(),
                "token.region: required",
            ),
            (
                format!("{k}key = \"alias/k\"\nendpoint_url = \"http://10.0.0.9:4566\""),
                "in clear",
            ),
            (
                format!("{k}key = \"alias/k\"\npin = {{ env = \"P\" }}"),
                "token.pin: not used with kind = \"aws-kms\"",
            ),
            (
                format!("{k}key = \"alias/k\"\ntoken = {{ env = \"T\" }}"),
                "token.token: not used",
            ),
            (format!("{k}key = \"my key\""), "token.key:"),
            (
                "kind = \"aws-kms\"\nregion = \"Europe\"\nkey = \"alias/k\"".into(),
                "token.region:",
            ),
        ] {
            let e = err(&body);
            assert!(e.contains(want), "{body:?}: {e}");
        }
        let e = err("kind = \"vault\"\naddress = \"http://127.0.0.1:1\"\nkey = \"k\"\ntoken = { env = \"T\" }\nregion = \"eu-west-1\"");
        assert!(
            e.contains("token.region: not used with kind = \"vault\""),
            "{e}"
        );
    }

    #[test]
    fn pkcs11_is_the_default_kind() {
        let c =
            parse("module = \"m.so\"\nuri = \"pkcs11:token=t;object=k\"\npin = { env = \"P\" }")
                .unwrap();
        assert!(matches!(c.token.backend, Backend::Pkcs11 { .. }));
    }

    #[test]
    fn errors_name_the_key() {
        let pin = "pin = { env = \"P\" }";
        for (token, want) in [
            (
                format!("kind = \"yubikey\"\n{pin}"),
                "token.slot: required for a YubiKey",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9b\"\n{pin}"),
                "token.slot: \"9b\" is not a PIV key slot",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nserial = -1\n{pin}"),
                "token.serial: -1 is not a YubiKey serial",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nserial = 0\n{pin}"),
                "token.serial: 0 is not",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nserial = 5000000000\n{pin}"),
                "token.serial: 5000000000",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nuri = \"pkcs11:token=t\"\n{pin}"),
                "token.uri: not used with kind = \"yubikey\"",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nmodule = \"m.so\"\n{pin}"),
                "token.module: not used with kind = \"yubikey\"",
            ),
            (
                format!("kind = \"yubikey\"\nslot = \"9d\"\nserial = \"123\"\n{pin}"),
                "serial",
            ),
            (
                format!("module = \"m.so\"\nuri = \"pkcs11:token=t\"\nslot = \"9d\"\n{pin}"),
                "token.slot: not used with kind = \"pkcs11\"",
            ),
            (
                format!("module = \"m.so\"\n{pin}"),
                "token.uri: required for a PKCS#11 token",
            ),
            (
                format!("uri = \"pkcs11:token=t\"\n{pin}"),
                "token.module: required",
            ),
            (
                format!("kind = \"piv\"\n{pin}"),
                "token.kind: unknown kind \"piv\"; use \"pkcs11\"",
            ),
            ("kind = \"yubikey\"\nslot = \"9d\"".to_string(), "pin"),
            (
                "kind = \"yubikey\"\nslot = \"9d\"\npin = \"271828\"".to_string(),
                "token.pin: never write the PIN itself",
            ),
            (
                "kind = \"yubikey\"\nslot = \"9d\"\npin = { fiel = \"p\" }".to_string(),
                "token.pin: give exactly one of",
            ),
        ] {
            let e = err(&token);
            assert!(e.contains(want), "{token:?}: expected {want:?} in: {e}");
            assert!(!e.contains("271828"), "the PIN is echoed: {e}");
        }
    }
}
