//! Each stage of keyward's request path on its own, per exchange, and the whole path without
//! the network (docs/benchmark.md, "Stage benchmarks"). Run with `scripts/bench/stages.sh`, or
//! `cargo bench --bench stages`; `cargo test --benches` runs each benchmark once, as a check.
//!
//! One representative order per exchange ([`orders`]), checked at start-up to be allowed and
//! signed by the fuzz targets' fixed world: an allowlist of every order endpoint with a
//! notional or size limit, and a credential from public test material.
//!
//! * `canonicalise`: the strict parse of method, path, query and body into the canonical
//!   request, under the exchange's rules;
//! * `decide`: the hard deny, then the allowlist's rules with their order limits (the order
//!   read from the canonical request by the exchange's field table);
//! * `sign`: the permitted request signed in memory (HMAC, or ECDSA P-256 for Coinbase);
//! * `audit`: one request record (with the canonical parameters) appended to a fresh audit
//!   log in a temporary folder, fsync off;
//! * `pipeline`: transport checks, route, canonicalise, exchange checks, decide, permit, the
//!   request record, sign, the outcome record: everything keyward does for a request but
//!   HTTP parsing, client authentication, the log line and the network.

mod orders;
mod records;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use keyward::policy;
use keyward::proxy::fuzzing::{self, Input};
use orders::{cases, now};
use records::{audit_log, request_record};

fn canonicalise(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonicalise");
    for case in cases() {
        let parts = case.parts();
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                black_box(&parts)
                    .canonicalise(&case.exchange.canon_rules())
                    .expect("canonical")
            })
        });
    }
    group.finish();
}

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    for case in cases() {
        let canonical = case.canonical();
        let route = case.exchange.route(&case.path).expect("a route");
        let allowlist = case.allowlist();
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                let decision = policy::decide(
                    case.exchange,
                    Some(allowlist),
                    false,
                    route.access,
                    black_box(&canonical),
                );
                assert!(decision.is_allowed());
                decision
            })
        });
    }
    group.finish();
}

fn sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign");
    for case in cases() {
        let permit = case.permit();
        let credential = fuzzing::credential(case.exchange);
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                black_box(&permit)
                    .sign(case.exchange, credential, now())
                    .expect("signed")
            })
        });
    }
    group.finish();
}

fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    for case in cases() {
        let permit = case.permit();
        let (_dir, log) = audit_log();
        let mut n = 0;
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                n += 1;
                log.append(&request_record(n, permit.canonical(), permit.rule()))
                    .expect("appended")
            })
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    for case in cases() {
        let input = Input::parse(&case.text).expect("an HTTP request");
        let (_dir, log) = audit_log();
        let mut n = 0;
        group.bench_function(case.id(), |b| {
            b.iter(|| {
                n += 1;
                records::pipeline(&case, &input, &log, n)
            })
        });
    }
    group.finish();
}

criterion_group!(stages, canonicalise, decide, sign, audit, pipeline);
criterion_main!(stages);
