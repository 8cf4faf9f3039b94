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
    let _ = Path::new(REPO);
}
