//! Issue 10, "at rest", against the real binary and a real SoftHSM token: which vault is current
//! (the config pins each vault's SHA-256, so a forged or rolled-back file is refused) and the
//! files keyward opens (a FIFO, a symlink or a loose PIN file is refused at once).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use common::{repin, sha256_hex_bytes, ConfigSpec, Env, MAIN};

/// `keyward check --config FILE`, failing the test if it takes longer than 20 s (a hang).
fn check(env: &Env, file: &str) -> Output {
    let (tx, rx) = mpsc::channel();
    let (dir, envs, file) = (env.dir.clone(), env.envs.clone(), file.to_owned());
    std::thread::spawn(move || {
        let out = common::run_keyward(&dir, &envs, &["check", "--config", &file], None);
        let _ = tx.send(out);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("keyward check must not hang")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn seal_main(env: &Env, api_key: &str) -> String {
    let out = env.run(
        &[
            "seal",
            "--recipient",
            "recipient.txt",
            "--name",
            MAIN,
            "--exchange",
            "binance",
            "--out",
            &format!("vault/{MAIN}.kwv"),
        ],
        Some(&format!("{api_key}\n{}\n", env.secret)),
    );
    assert!(out.status.success(), "seal: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rollback_and_forged_vaults_are_refused_and_pin_files_are_checked() {
    let env = Env::start();
    let vault = env.dir.join(format!("vault/{MAIN}.kwv"));
    env.write_config("pinned.toml", &ConfigSpec::default());
    assert!(check(&env, "pinned.toml").status.success());

    // v1 is current; seal v2 (a rotation) and pin it with the line seal printed.
    let v1 = std::fs::read(&vault).unwrap();
    let line = seal_main(&env, &env.api_key);
    let v2_pin = sha256_hex_bytes(&std::fs::read(&vault).unwrap());
    assert_eq!(line, format!("vault_sha256 = \"{v2_pin}\"\n"));
    let digest = env.run(&["digest", &vault.display().to_string()], None);
    assert_eq!(String::from_utf8(digest.stdout).unwrap(), line);
    // Unpinned: the old config refuses the new file until the operator pins it.
    let out = check(&env, "pinned.toml");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("keyward digest"), "{}", stderr(&out));
    repin(&env.dir, "pinned.toml");
    assert!(check(&env, "pinned.toml").status.success());

    // Restore v1 from a backup: refused, naming the credential and both digests.
    std::fs::write(&vault, &v1).unwrap();
    let out = check(&env, "pinned.toml");
    assert!(!out.status.success());
    let msg = stderr(&out);
    for want in [
        MAIN,
        &sha256_hex_bytes(&v1),
        &v2_pin,
        "older version",
        "keyward digest",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }

    // Forged: anyone can seal their own exchange key to the public recipient.
    seal_main(&env, "attacker-api-key");
    let out = check(&env, "pinned.toml");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("replaced"), "{}", stderr(&out));

    // The PIN file: each variant in a config of its own, all refused at once.
    let text = std::fs::read_to_string(env.dir.join("pinned.toml")).unwrap();
    let with_pin = |name: &str| {
        let file = format!("pin-{name}.toml");
        std::fs::write(
            env.dir.join(&file),
            text.replace("\"pin.txt\"", &format!("\"pin-{name}\"")),
        )
        .unwrap();
        file
    };
    let pin_path = |name: &str| env.dir.join(format!("pin-{name}"));
    mkfifo(&pin_path("fifo"));
    std::os::unix::fs::symlink(env.dir.join("pin.txt"), pin_path("link")).unwrap();
    std::fs::write(pin_path("loose"), format!("{}\n", env.pin)).unwrap();
    std::fs::set_permissions(pin_path("loose"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cases = vec![
        ("fifo", "is not a regular file".to_owned()),
        ("link", "is a symbolic link".to_owned()),
        ("loose", "(mode 644); run `chmod 600 pin-loose`".to_owned()),
    ];
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::write(pin_path("nobody"), format!("{}\n", env.pin)).unwrap();
        std::fs::set_permissions(pin_path("nobody"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::chown(pin_path("nobody"), Some(65534), Some(65534)).unwrap();
        cases.push(("nobody", "owned by uid 65534".to_owned()));
    }
    for (name, want) in cases {
        let out = check(&env, &with_pin(name));
        assert!(!out.status.success(), "{name}");
        let msg = stderr(&out);
        assert!(msg.contains(&want), "{name}: {want:?} not in {msg}");
        assert!(!msg.contains(&env.pin), "{name}: the PIN leaked: {msg}");
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}
