//! What the token costs keyward, measured on a real PKCS#11 token (run by
//! `scripts/bench/token.sh`, which makes a throwaway SoftHSM token and passes it here):
//!
//! * opening a vault (what start-up does per credential): the public-key lookup, the ECDH or
//!   RSA-OAEP decryption inside the token, HKDF and AES-GCM on the host, for P-256 and RSA-3072;
//! * signing through the `SigningKey` seam, as the exchange signers call it: HMAC-SHA256,
//!   Ed25519 and ECDSA P-256 with the key on the token (`OnToken`) against the same key in
//!   host memory, single-threaded (latency percentiles) and from several threads (throughput).
//!
//! Usage: token_bench MODULE TOKEN_LABEL PIN_FILE [SECONDS_PER_RUN]
//! Prints a Markdown report on stdout. Not a test: nothing here asserts on a number.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward::key::{HmacSecret, OnToken, PrivateKey, SigningKey};
use keyward::secret::SecretBytes;
use keyward::token::{KeyRef, PinSource, Pkcs11Token, SealingAlgorithm, SignatureAlgorithm, Token};
use keyward::vault::{self, CredentialSecrets};

/// A signed Binance order's payload, as the signer sees it.
const PAYLOAD: &[u8] = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000\
&price=30000.00&newClientOrderId=x-bench-0001&recvWindow=5000&timestamp=1700000000000";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: token_bench MODULE TOKEN_LABEL PIN_FILE [SECONDS_PER_RUN]");
        std::process::exit(2);
    }
    let module = Path::new(&args[1]);
    let label = &args[2];
    let pin = PinSource::File(args[3].clone().into());
    let seconds: f64 = args.get(4).map_or(3.0, |s| s.parse().expect("seconds"));
    let run = Duration::from_secs_f64(seconds);
    let open = |object: &str| {
        let uri = format!("pkcs11:token={label};object={object}")
            .parse()
            .unwrap();
        Pkcs11Token::open(module, &uri, &pin).unwrap_or_else(|e| panic!("{e}"))
    };

    println!("### Opening a vault (per credential at start-up)\n");
    println!("| sealing key | opens | mean | p50 | p99 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let dir = tempfile_dir();
    for (alg, object) in [
        (SealingAlgorithm::P256, "bench-p256"),
        (SealingAlgorithm::Rsa3072, "bench-rsa"),
    ] {
        let token = open(object);
        token.generate(alg).unwrap();
        let recipient = vault::recipient_of(&token).unwrap();
        let secrets = CredentialSecrets {
            api_key: SecretBytes::copy_from(b"bench-api-key"),
            secret: SecretBytes::copy_from(b"bench-secret-0123456789abcdef0123456789abcdef"),
            passphrase: None,
        };
        let path = dir.join(format!("{object}.kwv"));
        let bytes = vault::seal(&recipient, "bench", "binance", &secrets, None).unwrap();
        vault::write_vault_file(&path, &bytes).unwrap();
        let pinned = vault::VaultDigest::of(&bytes);
        let samples = sample(run, || {
            let t = Instant::now();
            let now = std::time::SystemTime::now();
            vault::open(&path, ("bench", "binance"), &pinned, now, &token).unwrap();
            t.elapsed()
        });
        let what = match &recipient {
            vault::Recipient::Rsa { oaep, .. } => format!("{alg} (OAEP {oaep})"),
            vault::Recipient::P256(_) => format!("{alg} (ECDH)"),
        };
        row(&what, &samples);
    }

    let token: Arc<dyn Token> = Arc::new(open("bench-p256"));
    let mut secret = [0u8; 64];
    getrandom::getrandom(&mut secret).unwrap();
    let hmac_ref = KeyRef::new("keyward-hmac-bench");
    token
        .import_hmac_key(&hmac_ref, &SecretBytes::copy_from(&secret))
        .unwrap();
    let ed_ref = KeyRef::new("keyward-api-bench-ed");
    token
        .generate_signing_key(&ed_ref, SignatureAlgorithm::Ed25519)
        .unwrap();
    let ec_ref = KeyRef::new("keyward-api-bench-ec");
    token
        .generate_signing_key(&ec_ref, SignatureAlgorithm::EcdsaP256)
        .unwrap();
    let ed_host = PrivateKey::from_ed25519_bytes(&secret[..32]).unwrap();
    let ec_host = {
        let sk = p256::SecretKey::from_slice(&secret[32..]).unwrap();
        use p256::pkcs8::EncodePrivateKey;
        let pem = sk.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
        PrivateKey::from_pem(pem.as_bytes()).unwrap()
    };

    let keys: Vec<Pair> = vec![
        (
            "HMAC-SHA256",
            Box::new(OnToken::hmac(token.clone(), hmac_ref)),
            Box::new(HmacSecret::new(SecretBytes::copy_from(&secret))),
        ),
        (
            "Ed25519",
            Box::new(OnToken::pair(
                token.clone(),
                ed_ref,
                SignatureAlgorithm::Ed25519,
            )),
            Box::new(ed_host),
        ),
        (
            "ECDSA P-256",
            Box::new(OnToken::pair(
                token.clone(),
                ec_ref,
                SignatureAlgorithm::EcdsaP256,
            )),
            Box::new(ec_host),
        ),
    ];
    let sign = |key: &dyn SigningKey| match key.algorithm() {
        keyward::key::KeyAlgorithm::Hmac => {
            key.hmac_sha256(&[PAYLOAD]).unwrap();
        }
        _ => {
            key.sign(PAYLOAD).unwrap();
        }
    };

    println!("\n### One signature, one thread (latency)\n");
    println!("| key | where | signatures | mean | p50 | p99 | added by the token (p50) |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, on_token, in_memory) in &keys {
        let timed = |key: &dyn SigningKey| {
            sample(run, || {
                let t = Instant::now();
                sign(key);
                t.elapsed()
            })
        };
        let host = timed(in_memory.as_ref());
        let held = timed(on_token.as_ref());
        row_with(&format!("{name} | host memory"), &host, "");
        row_with(
            &format!("{name} | SoftHSM"),
            &held,
            &signed_micros(held.p(0.5), host.p(0.5)),
        );
    }

    println!("\n### One signature every millisecond (caches cold, as between a bot's requests)\n");
    println!("| key | where | signatures | mean | p50 | p99 | added by the token (p50) |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, on_token, in_memory) in &keys {
        let paced = |key: &dyn SigningKey| {
            sample(run, || {
                std::thread::sleep(Duration::from_millis(1));
                let t = Instant::now();
                sign(key);
                t.elapsed()
            })
        };
        let host = paced(in_memory.as_ref());
        let held = paced(on_token.as_ref());
        row_with(&format!("{name} | host memory"), &host, "");
        row_with(
            &format!("{name} | SoftHSM"),
            &held,
            &signed_micros(held.p(0.5), host.p(0.5)),
        );
    }

    let threads: Vec<usize> = vec![1, 2, 4, 8];
    println!("\n### Throughput from several threads (signatures/s)\n");
    print!("| key | where |");
    for t in &threads {
        print!(" {t} thread{} |", if *t == 1 { "" } else { "s" });
    }
    println!();
    println!("| --- | --- |{}", " ---: |".repeat(threads.len()));
    for (name, on_token, in_memory) in &keys {
        for (place, key) in [("host memory", in_memory), ("SoftHSM", on_token)] {
            print!("| {name} | {place} |");
            for &t in &threads {
                print!(" {:.0} |", throughput(key.as_ref(), t, run, &sign));
            }
            println!();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A key's name, the key on the token, the same kind of key in host memory.
type Pair = (&'static str, Box<dyn SigningKey>, Box<dyn SigningKey>);

/// Per-operation times, sorted.
struct Samples(Vec<Duration>);

impl Samples {
    fn p(&self, q: f64) -> Duration {
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        self.0[i]
    }
    fn mean(&self) -> Duration {
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }
}

/// Runs `op` (which returns the time of the part it measures) repeatedly for about `run`, at
/// least 20 times.
fn sample(run: Duration, mut op: impl FnMut() -> Duration) -> Samples {
    for _ in 0..10 {
        op(); // warm-up: handle cache, session
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < run || times.len() < 20 {
        times.push(op());
    }
    times.sort();
    Samples(times)
}

fn throughput(
    key: &dyn SigningKey,
    threads: usize,
    run: Duration,
    sign: &(dyn Fn(&dyn SigningKey) + Sync),
) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < run {
                        sign(key);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// `a - b` in microseconds, with its sign ("-94.2 µs": the token is faster).
fn signed_micros(a: Duration, b: Duration) -> String {
    format!("{:.1} µs", micros(a) - micros(b))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn fmt(d: Duration) -> String {
    let us = micros(d);
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn row(what: &str, s: &Samples) {
    println!(
        "| {what} | {} | {} | {} | {} |",
        s.0.len(),
        fmt(s.mean()),
        fmt(s.p(0.5)),
        fmt(s.p(0.99))
    );
}

fn row_with(what: &str, s: &Samples, extra: &str) {
    println!(
        "| {what} | {} | {} | {} | {} | {extra} |",
        s.0.len(),
        fmt(s.mean()),
        fmt(s.p(0.5)),
        fmt(s.p(0.99))
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keyward-token-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
