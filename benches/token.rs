//! Signing with the key on a token against the key in host memory (docs/benchmark.md, "Stage
//! benchmarks" and "In-token signing"), on a throwaway SoftHSM token made here. Skips, saying
//! so, when SoftHSM is not installed. Run with `scripts/bench/stages.sh` or
//! `cargo bench --bench token`.
//!
//! * `hmac`: one HMAC-SHA256 of a Binance order's payload through the `SigningKey` seam, the
//!   secret in memory (`HmacSecret`) and on the token (`OnToken`, `CKM_SHA256_HMAC`);
//! * `hmac_threads/<where>/<n>`: the same from `n` threads at once; the time is wall time per
//!   HMAC, so its inverse is the rate;
//! * `hmac_tokio/<where>/<dispatch>/<n>`: `n` concurrent HMACs from tasks on a multi-thread
//!   tokio runtime, run on the worker, under `block_in_place` (as the proxy does) or through
//!   `spawn_blocking`; wall time per HMAC;
//! * `sign_in_token/<exchange>`: each HMAC exchange's order signed with the HMAC key on the
//!   token (`sign/<exchange>` in `stages` is the same in memory).

mod orders;
#[path = "../tests/common/softhsm.rs"]
mod softhsm;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use keyward::exchange::nonce::Nonce;
use keyward::exchange::Credential;
use keyward::key::{HmacSecret, OnToken, SigningKey};
use keyward::secret::SecretBytes;
use keyward::token::{KeyRef, PinSource, Pkcs11Token, Token};

/// A signed Binance order's payload, as the signer sees it.
const PAYLOAD: &[u8] = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000\
&price=30000.00&newClientOrderId=x-bench-0001&recvWindow=5000&timestamp=1700000000000";

/// Concurrency levels of the threaded runs.
const THREADS: &[usize] = &[1, 2, 4, 8];

struct World {
    _dir: tempfile::TempDir,
    token: Arc<dyn Token>,
    key: KeyRef,
    secret: SecretBytes,
}

/// A fresh SoftHSM token with one HMAC key; `None` (after saying why) without SoftHSM.
fn world() -> Option<World> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    softhsm::token(dir.path(), "bench")?;
    let pin = softhsm::pin_file(dir.path(), "pin.txt", "1234");
    let uri = "pkcs11:token=bench;object=seal"
        .parse()
        .expect("a token URI");
    let token = Pkcs11Token::open(softhsm::MODULE.as_ref(), &uri, &PinSource::File(pin))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "SoftHSM token 'bench': the pool opens up to {} sessions",
        token.max_sessions()
    );
    let token: Arc<dyn Token> = Arc::new(token);
    let mut bytes = [0u8; 64];
    getrandom::getrandom(&mut bytes).expect("random bytes");
    let secret = SecretBytes::copy_from(&bytes);
    let key = KeyRef::new("keyward-bench-hmac");
    token
        .import_hmac_key(&key, &secret)
        .unwrap_or_else(|e| panic!("{e}"));
    Some(World {
        _dir: dir,
        token,
        key,
        secret,
    })
}

impl World {
    fn on_token(&self) -> OnToken {
        OnToken::hmac(self.token.clone(), self.key.clone())
    }
}

fn hmac(c: &mut Criterion, w: &World) {
    let memory = HmacSecret::new(w.secret.clone());
    let token = w.on_token();
    assert_eq!(
        memory.hmac_sha256(&[PAYLOAD]).unwrap(),
        token.hmac_sha256(&[PAYLOAD]).unwrap(),
        "the token's HMAC differs from the host's"
    );
    let mut group = c.benchmark_group("hmac");
    let keys: [(&str, &dyn SigningKey); 2] = [("in_memory", &memory), ("on_token", &token)];
    for (name, key) in keys {
        group.bench_function(name, |b| {
            b.iter(|| key.hmac_sha256(&[black_box(PAYLOAD)]).unwrap())
        });
    }
    group.finish();
}

/// Wall time per HMAC with `threads` threads sharing `iters` HMACs.
fn threaded(key: &dyn SigningKey, threads: usize, iters: u64) -> Duration {
    let per = iters.div_ceil(threads as u64);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per {
                    black_box(key.hmac_sha256(&[PAYLOAD]).unwrap());
                }
            });
        }
    });
    started
        .elapsed()
        .mul_f64(iters as f64 / (per * threads as u64) as f64)
}

fn hmac_threads(c: &mut Criterion, w: &World) {
    let memory = HmacSecret::new(w.secret.clone());
    let token = w.on_token();
    let mut group = c.benchmark_group("hmac_threads");
    let keys: [(&str, &dyn SigningKey); 2] = [("in_memory", &memory), ("on_token", &token)];
    for (name, key) in keys {
        for &n in THREADS {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| threaded(key, n, iters))
            });
        }
    }
    group.finish();
}

/// How a task on the runtime runs a token operation.
#[derive(Clone, Copy)]
enum Dispatch {
    /// On the async worker itself (what keyward must not do with a key that blocks).
    Inline,
    /// `tokio::task::block_in_place`: the runtime hands the worker's other tasks to another
    /// thread meanwhile (what the proxy does).
    BlockInPlace,
    /// `tokio::task::spawn_blocking`, awaited.
    SpawnBlocking,
}

impl Dispatch {
    const ALL: [(Dispatch, &'static str); 3] = [
        (Dispatch::Inline, "inline"),
        (Dispatch::BlockInPlace, "block_in_place"),
        (Dispatch::SpawnBlocking, "spawn_blocking"),
    ];

    async fn hmac(self, key: &Arc<dyn SigningKey>) -> [u8; 32] {
        let sign = |key: &dyn SigningKey| key.hmac_sha256(&[PAYLOAD]).unwrap();
        match self {
            Dispatch::Inline => sign(&**key),
            Dispatch::BlockInPlace => tokio::task::block_in_place(|| sign(&**key)),
            Dispatch::SpawnBlocking => {
                let key = key.clone();
                tokio::task::spawn_blocking(move || sign(&*key))
                    .await
                    .unwrap()
            }
        }
    }
}

/// `n` concurrent tasks on a multi-thread runtime (one worker per CPU, as `keyward serve`),
/// each making its share of the HMACs in turn, as concurrent requests do; wall time per HMAC.
fn hmac_tokio(c: &mut Criterion, w: &World) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let keys: [(&str, Arc<dyn SigningKey>); 2] = [
        ("in_memory", Arc::new(HmacSecret::new(w.secret.clone()))),
        ("on_token", Arc::new(w.on_token())),
    ];
    let mut group = c.benchmark_group("hmac_tokio");
    for (place, key) in &keys {
        for (dispatch, how) in Dispatch::ALL {
            for &n in THREADS {
                let id = BenchmarkId::new(format!("{place}/{how}"), n);
                group.bench_with_input(id, &n, |b, &n| {
                    b.iter_custom(|iters| {
                        let per = iters.div_ceil(n as u64);
                        let started = Instant::now();
                        runtime.block_on(async {
                            let tasks: Vec<_> = (0..n)
                                .map(|_| {
                                    let key = key.clone();
                                    tokio::spawn(async move {
                                        for _ in 0..per {
                                            black_box(dispatch.hmac(&key).await);
                                            tokio::task::yield_now().await;
                                        }
                                    })
                                })
                                .collect();
                            for t in tasks {
                                t.await.unwrap();
                            }
                        });
                        started
                            .elapsed()
                            .mul_f64(iters as f64 / (per * n as u64) as f64)
                    })
                });
            }
        }
    }
    group.finish();
}

fn sign_in_token(c: &mut Criterion, w: &World) {
    let mut group = c.benchmark_group("sign_in_token");
    for case in orders::cases() {
        let credential = match Credential::with_key(
            case.exchange,
            SecretBytes::copy_from(b"keyward-bench-key"),
            case.exchange
                .needs_passphrase()
                .then(|| SecretBytes::copy_from(b"bench-passphrase")),
            Box::new(w.on_token()),
            5000,
            Nonce::in_memory(),
        ) {
            Ok(credential) => credential,
            Err(why) => {
                eprintln!("sign_in_token/{}: skipped ({why})", case.id());
                continue;
            }
        };
        let permit = case.permit();
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                black_box(&permit)
                    .sign(case.exchange, &credential, orders::now())
                    .expect("signed")
            })
        });
    }
    group.finish();
}

fn main() {
    let Some(world) = world() else {
        eprintln!(
            "token benchmarks skipped: SoftHSM is not set up ({} missing; `apt-get install \
             softhsm2`, or run scripts/bench/stages.sh, which installs it)",
            softhsm::MODULE
        );
        return;
    };
    let mut c = Criterion::default().configure_from_args();
    hmac(&mut c, &world);
    hmac_threads(&mut c, &world);
    hmac_tokio(&mut c, &world);
    sign_in_token(&mut c, &world);
    c.final_summary();
}
