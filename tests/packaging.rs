//! Issue 12, "Packaging": what is generated from the command line's own definition (shell
//! completions, man pages) and the files that install keyward (the systemd unit, the
//! Dockerfile), checked against the real binary and the tools that read them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{KEYWARD, REPO};

fn keyward(args: &[&str]) -> Output {
    let out = Command::new(KEYWARD)
        .args(args)
        .output()
        .expect("keyward runs");
    assert!(
        out.status.success(),
        "keyward {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every subcommand's name, from `keyward --help`.
fn subcommands() -> Vec<String> {
    let help = String::from_utf8(keyward(&["--help"]).stdout).unwrap();
    let names: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .expect("a Commands: list")
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 10, "{names:?}");
    names
}

#[test]
fn completions_for_every_shell_name_every_subcommand_and_bash_parses_them() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(keyward(&["completions", shell]).stdout).unwrap();
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}: no {name}");
        }
        assert!(script.contains("config"), "{shell}: no config option");
    }
    let bash = keyward(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keyward.bash");
    std::fs::write(&file, &bash).unwrap();
    let out = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Completing `keyward do` offers doctor (the function bash-completion would call).
    let probe = format!(
        "source {}; COMP_WORDS=(keyward do); COMP_CWORD=1; _keyward keyward do keyward; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(
        offered.lines().any(|l| l == "doctor"),
        "offered: {offered:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Command::new(KEYWARD)
        .args(["completions", "tcsh"])
        .status()
        .unwrap()
        .success());
}

#[test]
fn the_man_page_lists_every_subcommand_and_out_dir_writes_one_page_each() {
    let names = subcommands();
    let page = String::from_utf8(keyward(&["man"]).stdout).unwrap();
    assert!(page.contains(".TH keyward 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in &names {
        assert!(
            page.contains(&format!("keyward\\-{}", name.replace('-', "\\-"))),
            "no {name}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    keyward(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    for name in names
        .iter()
        .map(|n| format!("keyward-{n}.1"))
        .chain(["keyward.1".into()])
    {
        let path = dir.path().join(&name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no {name}"));
        assert!(text.starts_with(".ie"), "{name}: {text}");
    }
    let doctor = std::fs::read_to_string(dir.path().join("keyward-doctor.1")).unwrap();
    assert!(doctor.contains("\\-\\-config"), "{doctor}");
    // Rendered by man(1) where it is installed.
    if have("man") {
        let out = Command::new("man")
            .arg("-l")
            .arg(dir.path().join("keyward-doctor.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("keyward-doctor"),
            "{text}"
        );
    } else {
        eprintln!("man(1) is not installed: the pages are not rendered");
    }
}

/// The unit the README installs, with `ExecStart=` pointing at the binary under test (verify
/// checks that it is executable), written into a temp folder.
fn unit_under_test(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(Path::new(REPO).join("hsm-config/keyward.service")).unwrap();
    assert!(text.contains("ExecStart=/usr/bin/keyward "), "{text}");
    let path = dir.join("keyward.service");
    std::fs::write(&path, text.replace("/usr/bin/keyward", KEYWARD)).unwrap();
    path
}

#[test]
fn the_systemd_unit_is_hardened_and_systemd_analyze_accepts_it() {
    let text = std::fs::read_to_string(Path::new(REPO).join("hsm-config/keyward.service")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for want in [
        "User=keyward",
        "LoadCredential=pin:/etc/keyward/pin",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "MemoryDenyWriteExecute=yes",
        "LimitCORE=0",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "ReadWritePaths=/var/lib/keyward /var/log/keyward",
        "CapabilityBoundingSet=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(lines.contains(&want), "the unit lacks {want:?}");
    }
    // The PIN path the unit's comment tells keyward.toml to use is where systemd puts it.
    assert!(text.contains("pin = { file = \"/run/credentials/keyward.service/pin\" }"));
    if !have("systemd-analyze") {
        eprintln!("systemd-analyze is not installed (Debian: apt-get install systemd): the unit is not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_under_test(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    // verify exits 0 on an unknown key or a bad value, but says so: nothing may be said.
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    // The same check refuses a unit with a key it does not know.
    let broken = dir.path().join("broken.service");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&unit)
            .unwrap()
            .replace("ProtectSystem=strict", "ProtectSystem=sometimes"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "a bad value went unnoticed"
    );
    // Exposure (systemd's own score, 0 = locked down, 10 = unprotected).
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let score = said
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level: {said}"));
    eprintln!("{score}");
    assert!(
        out.status.success(),
        "exposure above 2.0 (threshold 20 of 100): {said}"
    );
}

/// `text` with each `${NAME}` of `args` replaced by its value, until none is left.
fn expand(text: &str, args: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for _ in 0..4 {
        for (name, value) in args {
            out = out.replace(&format!("${{{name}}}"), value);
        }
    }
    out
}

/// The Dockerfile's stages: `(name, base, body lines)`, the base with the `ARG` defaults
/// declared before the first stage filled in (what a build without `--build-arg` uses).
fn stages(text: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some((name, value)) = line.strip_prefix("ARG ").and_then(|a| a.split_once('=')) {
            if out.is_empty() {
                args.push((name.to_owned(), value.to_owned()));
            }
        }
        if let Some(rest) = line.strip_prefix("FROM ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(
                words.len() == 3 && words[1] == "AS",
                "every stage is named: {line}"
            );
            let base = expand(words[0], &args);
            assert!(!base.contains('$'), "{line}: {base}");
            out.push((words[2].to_owned(), base, Vec::new()));
        } else if let Some(stage) = out.last_mut() {
            stage.2.push(line.to_owned());
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_in_a_builder_and_ships_a_non_root_image_without_a_compiler() {
    let text = std::fs::read_to_string(Path::new(REPO).join("Dockerfile")).unwrap();
    let stages = stages(&text);
    let names: Vec<&str> = stages.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["builder", "runtime", "demo", "production"],
        "{names:?}"
    );
    let stage = |n: &str| stages.iter().find(|s| s.0 == n).unwrap();
    // The builder alone has the toolchain, and builds what Cargo.lock pins. By default the
    // bases are Docker Hub's rust and Debian slim images (the build args replace them).
    assert_eq!(stage("builder").1, "rust:1-bookworm");
    let builder = stage("builder").2.join("\n");
    assert!(builder.contains("cargo build --release --locked --bin keyward"));
    // The images: Debian slim, the binary and generated files copied from the builder only,
    // no compiler installed, a non-root user.
    assert_eq!(stage("runtime").1, "debian:bookworm-slim");
    for name in ["runtime", "demo", "production"] {
        let (_, base, body) = stage(name);
        assert!(name == "runtime" || base == "runtime", "{name} FROM {base}");
        for line in body {
            for banned in [
                "cargo",
                "rustc",
                "gcc",
                "build-essential",
                "libpcsclite-dev",
            ] {
                assert!(
                    !line.contains(banned) || line.starts_with('#'),
                    "{name}: {line}"
                );
            }
            if let Some(copy) = line.strip_prefix("COPY --from=") {
                assert!(copy.starts_with("builder /out/"), "{name}: {line}");
            }
        }
    }
    for name in ["demo", "production"] {
        assert!(
            stage(name).2.iter().any(|l| l == "USER keyward"),
            "{name} runs as keyward"
        );
    }
    let runtime = stage("runtime").2.join("\n");
    assert!(
        runtime.contains("useradd --system --uid 10001"),
        "{runtime}"
    );
    assert!(stage("demo").2.join("\n").contains("softhsm2"));
    // .dockerignore keeps everything out but what the stages copy from the context.
    let ignore = std::fs::read_to_string(Path::new(REPO).join(".dockerignore")).unwrap();
    let allowed: Vec<&str> = ignore.lines().filter_map(|l| l.strip_prefix('!')).collect();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    for (name, _, body) in &stages {
        for line in body {
            let Some(rest) = line.strip_prefix("COPY ") else {
                continue;
            };
            if rest.starts_with("--from=") {
                continue;
            }
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            for src in &words[..words.len() - 1] {
                assert!(
                    allowed.iter().any(|a| a.trim_end_matches('/') == *src),
                    "{name}: {src} is copied but .dockerignore leaves it out"
                );
                assert!(Path::new(REPO).join(src).exists(), "{src}");
            }
        }
    }
}

/// The demo image's entrypoint, run here as it runs in the image (`KEYWARD_STATE` for its
/// volume): a token and config on the first start, the same recipient on the next, and doctor
/// then naming the one thing left (a credential).
#[test]
fn the_demo_entrypoint_makes_a_token_and_keeps_it() {
    if common::softhsm_module().is_none() {
        eprintln!("SoftHSM is not installed: the demo entrypoint is not run");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new("sh")
            .arg(Path::new(REPO).join("scripts/docker-demo.sh"))
            .args(args)
            .env("KEYWARD_STATE", state.path())
            .env("KEYWARD_BIN", KEYWARD)
            .env("KEYWARD_PKCS11_MODULE", common::softhsm_module().unwrap())
            .output()
            .unwrap()
    };
    let first = run(&[]);
    let said = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(first.status.success(), "{said}");
    let recipient = said
        .lines()
        .find_map(|l| l.strip_prefix("keyward-demo: seal API keys to "))
        .unwrap_or_else(|| panic!("no recipient: {said}"))
        .to_owned();
    assert!(recipient.starts_with("kwr1-p256-"), "{recipient}");
    let pin = state.path().join("pin");
    let mode = std::fs::metadata(&pin).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    // The next start keeps the token and its key.
    let again = run(&["recipient", "--config", "keyward.toml"]);
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), recipient);
    // doctor: everything but a credential is in place.
    let doctor = run(&["doctor", "--config", "keyward.toml"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{report}");
    assert!(report.contains("ok    sealing key: "), "{report}");
    assert!(
        report.contains("FIX   config: keyward.toml has no [[credential]]"),
        "{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("FIX")).count(),
        1,
        "{report}"
    );
}
