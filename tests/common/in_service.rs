//! What the in-service signing tests (Vault Transit, AWS KMS) share: signed Binance requests
//! through keyward, `keyward import --in-token` of binance-main, the config that uses the
//! imported key, and a latency measure.

use std::time::Instant;

use super::{Env, Keyward, MAIN};

/// A signed Binance order for credential `MAIN` through `kw`, as `grid-bot`.
pub fn order(env: &Env, kw: &Keyward, id: &str) -> super::Resp {
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=20000&newClientOrderId={id}"
    );
    signed(
        kw,
        &env.token,
        "POST",
        &format!("/{MAIN}/api/v3/order"),
        Some(&body),
    )
}

/// An order as `tag`'s request that the key service cannot sign: a 503 `key_unavailable` whose
/// message names every one of `says`, and nothing forwarded to the exchange.
pub fn assert_unavailable(env: &Env, kw: &Keyward, tag: &str, says: &[&str]) {
    let id = super::tag(tag);
    let r = order(env, kw, &id);
    r.assert_error(503, "key_unavailable");
    let msg = r.text();
    eprintln!("refused as expected: {msg}");
    for needle in says {
        assert!(msg.contains(needle), "no {needle:?} in {msg}");
    }
    env.assert_not_forwarded(&id);
}

pub fn signed(
    kw: &Keyward,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> super::Resp {
    let mut headers = vec![("X-MBX-APIKEY", token)];
    if body.is_some() {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    super::raw(
        kw.port,
        &super::build(kw.port, method, path, &headers, body),
    )
}

/// `keyward import --in-token` of binance-main's real key and secret into Transit, to `out`.
pub fn import_main(env: &Env, out: &str) -> std::process::Output {
    env.run(
        &[
            "import",
            "--config",
            "keyward.toml",
            "--name",
            MAIN,
            "--exchange",
            "binance",
            "--in-token",
            "--out",
            out,
        ],
        Some(&format!("{}\n{}\n", env.api_key, env.secret)),
    )
}

/// A config `file` like the Env's, binance-main's vault the one `import_main` wrote to
/// `vault/in-transit.kwv` (pinned), the `token = ...` line replaced by `auth` if given. The
/// sealed copy of the secret is removed: keyward has no way to it but the key service.
pub fn in_service_config(env: &Env, file: &str, auth: Option<&str>) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(&env.config).unwrap().replace(
        &format!("vault = \"vault/{MAIN}.kwv\""),
        "vault = \"vault/in-transit.kwv\"",
    );
    if let Some(auth) = auth {
        let line = text
            .lines()
            .find(|l| l.starts_with("token = { file"))
            .unwrap()
            .to_owned();
        text = text.replace(&line, auth);
    }
    let config = env.dir.join(file);
    std::fs::write(&config, text).unwrap();
    super::repin(&env.dir, file);
    let _ = std::fs::remove_file(env.dir.join(format!("vault/{MAIN}.kwv")));
    config
}

/// p50 and p99 in ms of `n` sequential requests made by `request`.
pub fn latency(n: usize, mut request: impl FnMut(usize)) -> (f64, f64) {
    let mut times: Vec<f64> = (0..n)
        .map(|i| {
            let t = Instant::now();
            request(i);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[n / 2], times[n * 99 / 100])
}

/// The wall time in ms of `n` runs of `keyward check --config CONFIG` (each must succeed),
/// sorted: the unseal time of the whole process.
pub fn check_times(env: &Env, config: &str, n: usize) -> Vec<f64> {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let out = env.run(&["check", "--config", config], None);
            assert!(out.status.success(), "{}", super::bao::text(&out));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}
