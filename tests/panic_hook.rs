//! keyward's panic hook (`secret::redact_panics`) never lets a panic message reach stderr (the
//! log): the test runs itself as a child that installs the hook and panics with a secret in the
//! message, with and without a tracing subscriber, and reads the child's stderr.

use std::process::Command;

const SECRET: &str = "sk-live-7f3a9c0e1b2d4f6a8c0e";
const CHILD: &str = "KEYWARD_PANIC_HOOK_CHILD";

/// Runs only as the child: panics with the secret in the message.
#[test]
fn child_panics_with_a_secret() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    keyward::secret::redact_panics();
    if mode == "tracing" {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .init();
    }
    let parsed: Result<u32, String> = std::hint::black_box(Err(format!("secret={SECRET}")));
    parsed.unwrap();
}

fn child_stderr(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_panics_with_a_secret",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child must have panicked");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_panic_message_carrying_a_secret_never_reaches_stderr() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    for mode in ["plain", "tracing"] {
        let stderr = child_stderr(mode);
        assert!(
            stderr.contains("panicked at tests/panic_hook.rs:"),
            "{mode}: the location is reported:\n{stderr}"
        );
        assert!(
            stderr.contains("withholds the panic message"),
            "{mode}:\n{stderr}"
        );
        assert!(
            !stderr.contains(SECRET),
            "{mode}: the secret reached stderr:\n{stderr}"
        );
    }
}
