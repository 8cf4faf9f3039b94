//! Reading credential secrets from stdin or a no-echo terminal prompt, with as few copies as
//! possible: each line is read into one pre-sized buffer, copied once into a [`SecretBytes`] and
//! the buffer zeroized.

use std::io::{BufRead, Read, Write};

use zeroize::Zeroize;

use super::secrets::CredentialSecrets;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Longest accepted field (exchange keys and secrets are well under 200 bytes; RSA PEMs fit too).
const MAX_FIELD: usize = 8192;

#[derive(Clone, Copy)]
enum Field {
    ApiKey,
    Secret,
    Passphrase,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::ApiKey => "API key",
            Field::Secret => "API secret",
            Field::Passphrase => "passphrase",
        }
    }
    fn line(self) -> usize {
        match self {
            Field::ApiKey => 1,
            Field::Secret => 2,
            Field::Passphrase => 3,
        }
    }
}

/// Reads the API key (line 1), the secret (line 2) and, if `want_passphrase`, the passphrase
/// (the line after the secret). Line endings (`\n`, `\r\n`) are removed; nothing else is
/// trimmed. A secret that starts with a PEM `-----BEGIN ...-----` line continues through its
/// `-----END ...-----` line and keeps its line breaks (`\n`).
pub fn read_secrets(mut input: impl BufRead, want_passphrase: bool) -> Result<CredentialSecrets> {
    let api_key = required(&mut input, Field::ApiKey)?;
    let mut secret = required(&mut input, Field::Secret)?;
    if secret.expose().starts_with(b"-----BEGIN ") {
        secret = read_pem_rest(&mut input, secret)?;
    }
    let passphrase = if want_passphrase {
        Some(required(&mut input, Field::Passphrase)?)
    } else {
        if let Some(extra) = read_line(&mut input, Field::Passphrase)? {
            if !extra.is_empty() {
                return Err(Error::usage(
                    "unexpected third line: this exchange takes no passphrase; give only the \
                     API key and the secret",
                ));
            }
        }
        None
    };
    Ok(CredentialSecrets {
        api_key,
        secret,
        passphrase,
    })
}

/// Where a credential's fields come from: lines on standard input, or no-echo prompts on the
/// terminal.
pub enum Entry<R> {
    Lines(R),
    Prompt,
}

impl<R: BufRead> Entry<R> {
    /// The API key, the secret and, if `want_passphrase`, the passphrase.
    pub fn secrets(self, want_passphrase: bool) -> Result<CredentialSecrets> {
        match self {
            Entry::Lines(input) => read_secrets(input, want_passphrase),
            Entry::Prompt => prompt_secrets(want_passphrase),
        }
    }

    /// The API key alone (the signing key is elsewhere); a second line is refused, so a secret
    /// is never read and then ignored.
    pub fn api_key(self) -> Result<SecretBytes> {
        match self {
            Entry::Lines(mut input) => {
                let api_key = required(&mut input, Field::ApiKey)?;
                match read_line(&mut input, Field::Secret)? {
                    Some(extra) if !extra.is_empty() => Err(Error::usage(
                        "unexpected second line: the signing key is already on the token, so \
                         only the API key is read; give the API key alone",
                    )),
                    _ => Ok(api_key),
                }
            }
            Entry::Prompt => prompt(Field::ApiKey),
        }
    }
}

/// Prompts on the terminal (prompt on stderr, input not echoed).
pub fn prompt_secrets(want_passphrase: bool) -> Result<CredentialSecrets> {
    let api_key = prompt(Field::ApiKey)?;
    let secret = prompt(Field::Secret)?;
    let passphrase = if want_passphrase {
        Some(prompt(Field::Passphrase)?)
    } else {
        None
    };
    Ok(CredentialSecrets {
        api_key,
        secret,
        passphrase,
    })
}

fn prompt(field: Field) -> Result<SecretBytes> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{} (input hidden): ", capitalized(field));
    let _ = stderr.flush();
    let mut line = rpassword::read_password().map_err(|e| {
        Error::usage(format!(
            "cannot read the {} from the terminal ({e}); pipe the secrets on standard input \
             instead",
            field.name()
        ))
        .with_source(e)
    })?;
    let value = SecretBytes::copy_from(line.as_bytes());
    line.zeroize();
    check(value, field)
}

fn capitalized(field: Field) -> &'static str {
    match field {
        Field::ApiKey => "API key",
        Field::Secret => "API secret",
        Field::Passphrase => "Passphrase",
    }
}

fn required(input: &mut impl BufRead, field: Field) -> Result<SecretBytes> {
    let value = read_line(input, field)?.ok_or_else(|| {
        Error::usage(format!(
            "expected the {} on line {}, got end of input",
            field.name(),
            field.line()
        ))
    })?;
    check(value, field)
}

fn check(value: SecretBytes, field: Field) -> Result<SecretBytes> {
    let (name, line) = (field.name(), field.line());
    if value.is_empty() {
        return Err(Error::usage(format!("the {name} (line {line}) is empty")));
    }
    let Some(text) = value.expose_str() else {
        return Err(Error::usage(format!(
            "the {name} (line {line}) is not valid UTF-8"
        )));
    };
    if !matches!(field, Field::Passphrase) && text.trim() != text {
        return Err(Error::usage(format!(
            "the {name} (line {line}) has leading or trailing whitespace; remove it"
        )));
    }
    Ok(value)
}

/// Continues a PEM block whose first line is `first`, through its `-----END` line.
fn read_pem_rest(input: &mut impl BufRead, first: SecretBytes) -> Result<SecretBytes> {
    // Pre-sized so that appending never reallocates (which would leave copies behind).
    let mut pem: Vec<u8> = Vec::with_capacity(MAX_FIELD + 1);
    pem.extend_from_slice(first.expose());
    pem.push(b'\n');
    let result = loop {
        match read_line(input, Field::Secret)? {
            None => {
                break Err(Error::usage(
                    "the PEM secret has no -----END ...----- line before the end of input",
                ))
            }
            Some(line) => {
                if pem.len() + line.len() + 1 > MAX_FIELD {
                    break Err(Error::usage(format!(
                        "the PEM secret is longer than {MAX_FIELD} bytes"
                    )));
                }
                pem.extend_from_slice(line.expose());
                pem.push(b'\n');
                if line.expose().starts_with(b"-----END ") {
                    break Ok(SecretBytes::copy_from(&pem));
                }
            }
        }
    };
    pem.zeroize();
    result
}

/// One line without its line ending, or `None` at end of input.
fn read_line(input: &mut impl BufRead, field: Field) -> Result<Option<SecretBytes>> {
    // Sized up front so `read_until` never reallocates (which would leave a copy behind).
    let mut buf: Vec<u8> = Vec::with_capacity(MAX_FIELD + 2);
    let read = input
        .by_ref()
        .take((MAX_FIELD + 2) as u64)
        .read_until(b'\n', &mut buf);
    let result = match read {
        Err(e) => Err(Error::usage(format!(
            "cannot read the {} from standard input: {e}",
            field.name()
        ))
        .with_source(e)),
        Ok(0) => Ok(None),
        Ok(_) => {
            let line = buf
                .strip_suffix(b"\r\n")
                .or_else(|| buf.strip_suffix(b"\n"))
                .unwrap_or(&buf);
            if line.len() > MAX_FIELD {
                Err(Error::usage(format!(
                    "the {} (line {}) is longer than {MAX_FIELD} bytes",
                    field.name(),
                    field.line()
                )))
            } else {
                Ok(Some(SecretBytes::copy_from(line)))
            }
        }
    };
    buf.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8], passphrase: bool) -> Result<CredentialSecrets> {
        read_secrets(input, passphrase)
    }

    #[test]
    fn reads_two_or_three_lines() {
        let s = read(b"key\r\nsecret\n", false).unwrap();
        assert_eq!(s.api_key.expose(), b"key");
        assert_eq!(s.secret.expose(), b"secret");
        assert!(s.passphrase.is_none());

        let s = read(b"key\nsecret\npass word", true).unwrap();
        assert_eq!(s.passphrase.unwrap().expose(), b"pass word");

        let s = read(
            b"key\n-----BEGIN PRIVATE KEY-----\r\nAAAA\nBBBB\n-----END PRIVATE KEY-----\npass\n",
            true,
        )
        .unwrap();
        assert_eq!(
            s.secret.expose(),
            b"-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n"
        );
        assert_eq!(s.passphrase.unwrap().expose(), b"pass");

        // A trailing blank line is fine without a passphrase.
        assert!(read(b"key\nsecret\n\n", false).is_ok());
    }

    #[test]
    fn the_api_key_alone() {
        let key = Entry::Lines(&b"key\n"[..]).api_key().unwrap();
        assert_eq!(key.expose(), b"key");
        assert!(Entry::Lines(&b"key\n\n"[..]).api_key().is_ok());
        let err = Entry::Lines(&b"key\nsecret\n"[..]).api_key().unwrap_err();
        assert!(err.to_string().contains("only the API key"), "{err}");
        assert!(!err.to_string().contains("secret\n"));
        let err = Entry::Lines(&b""[..]).api_key().unwrap_err();
        assert!(err.to_string().contains("API key on line 1"), "{err}");
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], bool, &str); 8] = [
            (b"", false, "expected the API key on line 1"),
            (b"\nsecret\n", false, "API key (line 1) is empty"),
            (b"key\n", false, "expected the API secret on line 2"),
            (b"key\n\n", false, "API secret (line 2) is empty"),
            (b"key\nsecret\n", true, "expected the passphrase on line 3"),
            (b"key\nsecret\n\n", true, "passphrase (line 3) is empty"),
            (b"key\nsecret\npass\n", false, "takes no passphrase"),
            (b"key \nsecret\n", false, "whitespace"),
        ];
        for (input, passphrase, want) in cases {
            let err = read(input, passphrase).expect_err(want);
            assert!(err.to_string().contains(want), "{err} / {want}");
            assert!(!err.to_string().contains("secret\n"));
        }
        let long = vec![b'a'; MAX_FIELD + 5];
        let err = read(&long, false).err().unwrap();
        assert!(err.to_string().contains("longer than"), "{err}");
        let err = read(b"key\n-----BEGIN PRIVATE KEY-----\nAAAA\n", false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("-----END"), "{err}");
        let err = read(b"\xff\nsecret\n", false).err().unwrap();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}
