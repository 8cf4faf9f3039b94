//! Heap allocations per request of each stage of keyward's request path, per exchange
//! (docs/benchmark.md, "Allocations per request"): the stages of `benches/stages.rs`, each run
//! under a global allocator that counts. `cargo bench --bench allocations` prints the table;
//! `cargo test --benches` runs it too (the counts do not depend on the build's optimisation
//! much, nor on the machine's load).

mod orders;
mod records;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use keyward::proxy::fuzzing::{self, Input};
use orders::{cases, now};
use records::{audit_log, outcome_record, request_record};

/// The system allocator, counting allocations (a `realloc` counts as one) and their bytes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations and bytes allocated per call of `f`, over 200 calls after 5 to warm up.
fn per_call<T>(mut f: impl FnMut() -> T) -> (f64, f64) {
    for _ in 0..5 {
        black_box(f());
    }
    const CALLS: u64 = 200;
    let (a, b) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..CALLS {
        black_box(f());
    }
    let calls = CALLS as f64;
    (
        (ALLOCATIONS.load(Relaxed) - a) as f64 / calls,
        (BYTES.load(Relaxed) - b) as f64 / calls,
    )
}

fn cell((allocations, bytes): (f64, f64)) -> String {
    format!("{allocations:.0} ({bytes:.0} B)")
}

fn main() {
    println!("### Heap allocations per request (count, and bytes allocated)\n");
    println!("| exchange | canonicalise | route + decide | sign (memory) | request record | outcome record | pipeline |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for case in cases() {
        let parts = case.parts();
        let rules = case.exchange.canon_rules();
        let canonicalise = per_call(|| parts.canonicalise(&rules).expect("canonical"));
        let canonical = case.canonical();
        let allowlist = case.allowlist();
        let decide = per_call(|| {
            let route = case.exchange.route(&case.path).expect("a route");
            let decision = keyward::policy::decide(
                case.exchange,
                Some(allowlist),
                false,
                route.access,
                &canonical,
            );
            assert!(decision.is_allowed());
            decision
        });
        let permit = case.permit();
        let credential = fuzzing::credential(case.exchange);
        let sign = per_call(|| {
            permit
                .sign(case.exchange, credential, now())
                .expect("signed")
        });
        let (_dir, log) = audit_log();
        let mut n = 0;
        let request = per_call(|| {
            n += 1;
            log.append(&request_record(n, permit.canonical(), permit.rule()))
                .expect("appended")
        });
        let outcome = per_call(|| {
            n += 1;
            log.append(&outcome_record(n)).expect("appended")
        });
        let input = Input::parse(&case.text).expect("an HTTP request");
        let pipeline = per_call(|| {
            n += 1;
            records::pipeline(&case, &input, &log, n)
        });
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            case.id(),
            cell(canonicalise),
            cell(decide),
            cell(sign),
            cell(request),
            cell(outcome),
            cell(pipeline)
        );
    }
}
