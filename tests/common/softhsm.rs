//! A throwaway SoftHSM token for the in-process token tests (`tests/softhsm_token.rs`,
//! `tests/token_keys.rs`), and a direct look at what is on it through cryptoki.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and keyward initialises a module once
//! per process; so each such test binary has one test function, which calls [`token`] before
//! anything else runs.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::Session;
use cryptoki::slot::Slot;

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Writes a SoftHSM config for a fresh token directory in `dir`, points `SOFTHSM2_CONF` at it
/// and initialises a token `label` with user PIN 1234. `None` if SoftHSM is not installed.
pub fn token(dir: &Path, label: &str) -> Option<()> {
    if !Path::new(MODULE).exists() {
        eprintln!("note: {MODULE} not installed; skipping the SoftHSM test");
        return None;
    }
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // The only test in its binary: no other thread reads the environment concurrently.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let status = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("softhsm2-util runs");
    assert!(status.success(), "softhsm2-util --init-token failed");
    Some(())
}

/// A PIN file (mode 0600) named `name` in `dir`.
pub fn pin_file(dir: &Path, name: &str, pin: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{pin}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The module as keyward loaded it (the same library instance, already initialised).
pub fn ctx() -> Pkcs11 {
    let ctx = Pkcs11::new(MODULE).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    ctx
}

pub fn slot(ctx: &Pkcs11, label: &str) -> Slot {
    ctx.get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == label)
        .unwrap()
}

/// Runs `f` in a read-only session of our own on token `label` (logged in if keyward is:
/// login state belongs to the process).
pub fn with_session<T>(label: &str, f: impl FnOnce(&Session) -> T) -> T {
    let ctx = ctx();
    let session = ctx.open_ro_session(slot(&ctx, label)).unwrap();
    f(&session)
}

/// The boolean attributes `want` (type, expected value) of the one object of `class` labelled
/// `object` on token `label` are as expected.
pub fn assert_flags(label: &str, class: ObjectClass, object: &str, want: &[(AttributeType, bool)]) {
    with_session(label, |session| {
        let found = session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::Label(object.as_bytes().to_vec()),
            ])
            .unwrap();
        assert_eq!(found.len(), 1, "one {class:?} labelled {object}");
        let types: Vec<AttributeType> = want.iter().map(|(t, _)| *t).collect();
        let attrs = session.get_attributes(found[0], &types).unwrap();
        assert_eq!(attrs.len(), want.len(), "{object}: {attrs:?}");
        for (attr, (t, expected)) in attrs.iter().zip(want) {
            let value = match attr {
                Attribute::Token(v)
                | Attribute::Private(v)
                | Attribute::Sensitive(v)
                | Attribute::Extractable(v)
                | Attribute::Derive(v)
                | Attribute::Sign(v)
                | Attribute::Decrypt(v)
                | Attribute::Encrypt(v)
                | Attribute::Unwrap(v)
                | Attribute::Modifiable(v)
                | Attribute::Destroyable(v) => *v,
                other => panic!("{object}: {other:?} is not a flag"),
            };
            assert_eq!(value, *expected, "{object}: {t:?}");
        }
    })
}
