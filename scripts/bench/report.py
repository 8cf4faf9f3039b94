#!/usr/bin/env python3
"""Turns scripts/bench.sh's raw outputs into target/bench/results.md.

  report.py --one-line RAW                      one line about one run (progress output)
  report.py --runs runs.tsv --machine machine.txt --out results.md [--soak soak-rss.tsv]
            [--json results.json]

RAW is oha's JSON (--output-format json; latencies in seconds) or wrk's text (--latency).
runs.tsv has one row per measurement with the CPU seconds used meanwhile (see bench.sh).
"""

import argparse
import json
import re
import sys

TARGET_NAMES = {
    "direct": "direct (client → upstream, TLS)",
    "nginx": "nginx proxy (client → nginx → upstream)",
    "keyward-fsync-off": "keyward, audit fsync off",
    "keyward-fsync-on": "keyward, audit fsync on",
    "keyward-token": "keyward, HMAC key on the token",
}
KEYWARDS = ("keyward-fsync-off", "keyward-fsync-on", "keyward-token")


def parse_oha(path):
    with open(path) as f:
        d = json.load(f)
    pct = d.get("latencyPercentiles") or {}
    codes = d.get("statusCodeDistribution") or {}
    errors = d.get("errorDistribution") or {}
    summary = d.get("summary") or {}
    ok = sum(n for c, n in codes.items() if str(c) == "200")
    total = sum(codes.values()) + sum(errors.values())

    def ms(key):
        v = pct.get(key)
        return None if v is None else v * 1000.0

    return {
        "rps": summary.get("requestsPerSec") or 0.0,
        "p50": ms("p50"),
        "p90": ms("p90"),
        "p99": ms("p99"),
        "p999": ms("p99.9"),
        "max": None if summary.get("slowest") is None else summary["slowest"] * 1000.0,
        "requests": total,
        "ok": ok,
        "bad": total - ok,
        "bad_detail": ", ".join(
            [f"{n}× HTTP {c}" for c, n in codes.items() if str(c) != "200"]
            + [f"{n}× {e}" for e, n in errors.items()]
        ),
    }


def wrk_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(path):
    text = open(path).read()
    res = {"rps": 0.0, "p50": None, "p90": None, "p99": None, "p999": None, "max": None}
    m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
    if m:
        res["rps"] = float(m.group(1))
    for label, key in (("50%", "p50"), ("90%", "p90"), ("99%", "p99")):
        m = re.search(r"^\s*" + re.escape(label) + r"\s+(\S+)", text, re.M)
        if m:
            res[key] = wrk_ms(m.group(1))
    m = re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", text, re.M)
    if m:
        res["max"] = wrk_ms(m.group(1))
    # scripts/bench/wrk.lua's exact percentiles (µs), p99.9 among them.
    names = {"50": "p50", "90": "p90", "99": "p99", "99.9": "p999", "max": "max"}
    for p, us in re.findall(r"^bench-latency-us (\S+) (\d+)$", text, re.M):
        if p in names:
            res[names[p]] = int(us) / 1000.0
    m = re.search(r"(\d+) requests in", text)
    total = int(m.group(1)) if m else 0
    bad = 0
    details = []
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m:
        bad += int(m.group(1))
        details.append(f"{m.group(1)}× non-2xx")
    m = re.search(r"Socket errors:(.*)", text)
    if m:
        errs = sum(int(x) for x in re.findall(r"\d+", m.group(1)))
        if errs:
            bad += errs
            details.append("socket errors:" + m.group(1).strip())
    res.update(requests=total, ok=total - bad, bad=bad, bad_detail=", ".join(details))
    return res


def parse(path):
    return parse_oha(path) if path.endswith(".json") else parse_wrk(path)


def f(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def one_line(path):
    r = parse(path)
    bad = f"  NOT OK: {r['bad']} ({r['bad_detail']})" if r["bad"] else ""
    print(
        f"{r['rps']:8.0f} req/s  p50 {f(r['p50'])} ms  p90 {f(r['p90'])} ms  "
        f"p99 {f(r['p99'])} ms{bad}"
    )


def read_runs(path):
    rows = []
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    for row in rows:
        row["result"] = parse(row["raw"])
    return rows


def per_req_us(cpu_s, requests):
    if not requests:
        return None
    return float(cpu_s) / requests * 1e6


def table(rows, with_rate):
    out = []
    out.append(
        "| path | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | not 200 | proxy CPU µs/req "
        "| upstream CPU µs/req | proxy RSS MiB | load gen. CPU | other work |"
    )
    out.append("|" + "---|" * 13)
    for row in rows:
        r = row["result"]
        dur = float(row["duration"])
        proxy = (
            "–"
            if row["target"] == "direct"
            else f(per_req_us(row["proxy_cpu_s"], r["requests"]), 0)
        )
        bad = str(r["bad"]) if not r["bad"] else f"**{r['bad']}** ({r['bad_detail']})"
        out.append(
            "| {name} | {rps:.0f} | {p50} | {p90} | {p99} | {p999} | {mx} | {bad} | {proxy} | {up} "
            "| {rss} | {lg:.0f}% of a CPU | {other:.0f}% of a CPU |".format(
                rss=rss_mib(row),
                name=TARGET_NAMES.get(row["target"], row["target"]),
                rps=r["rps"],
                p50=f(r["p50"]),
                p90=f(r["p90"]),
                p99=f(r["p99"]),
                p999=f(r["p999"]),
                mx=f(r["max"]),
                bad=bad,
                proxy=proxy,
                up=f(per_req_us(row["upstream_cpu_s"], r["requests"]), 0),
                lg=100.0 * float(row["loadgen_cpu_s"]) / dur,
                other=100.0 * max(0.0, float(row["machine_busy_s"]) - float(row["loadgen_cpu_s"])
                                  - float(row["proxy_cpu_s"]) - float(row["upstream_cpu_s"])) / dur,
            )
        )
    return out


def rss_mib(row):
    kib = int(row.get("proxy_rss_kib") or 0)
    return "–" if row["target"] == "direct" or not kib else f"{kib / 1024:.1f}"


def added(rows):
    """keyward's added latency (p50, p99) against direct and against nginx, per rate."""
    by = {row["target"]: row["result"] for row in rows}
    lines = []
    for kw in KEYWARDS:
        if kw not in by:
            continue
        parts = []
        for base in ("direct", "nginx"):
            if base in by and by[base]["p50"] is not None and by[kw]["p50"] is not None:
                parts.append(
                    f"vs {base}: p50 {by[kw]['p50'] - by[base]['p50']:+.2f} ms, "
                    f"p99 {by[kw]['p99'] - by[base]['p99']:+.2f} ms"
                )
        if parts:
            lines.append(f"* {TARGET_NAMES[kw]}: " + "; ".join(parts))
    return lines


def read_soak(path):
    """soak-rss.tsv (wall clock s, resident KiB per line) -> [(seconds since start, MiB)]."""
    try:
        lines = [line.split() for line in open(path) if line.strip()]
    except OSError:
        return []
    samples = [(float(t.replace(",", ".")), int(kib)) for t, kib in lines if int(kib) > 0]
    if not samples:
        return []
    t0 = samples[0][0]
    return [(t - t0, kib / 1024.0) for t, kib in samples]


def soak_summary(samples):
    """First, after one minute, last and peak RSS, and the growth per minute after the first
    minute (least squares), in MiB."""
    if not samples:
        return None
    after_minute = [m for t, m in samples if t >= 60.0]
    tail = [(t, m) for t, m in samples if t >= 60.0] or samples
    growth = None
    if len(tail) >= 3:
        mt = sum(t for t, _ in tail) / len(tail)
        mm = sum(m for _, m in tail) / len(tail)
        var = sum((t - mt) ** 2 for t, _ in tail)
        if var > 0:
            growth = sum((t - mt) * (m - mm) for t, m in tail) / var * 60.0
    return {
        "seconds": samples[-1][0],
        "first_mib": samples[0][1],
        "at_60s_mib": after_minute[0] if after_minute else None,
        "last_mib": samples[-1][1],
        "peak_mib": max(m for _, m in samples),
        "growth_mib_per_min": growth,
    }


def targets(rows, soak):
    """The issue's targets, each with the figure from this run and whether it is met."""
    by = {(r["phase"], r["target"]): r["result"] for r in rows}
    out = []

    def check(name, value, ok, shown):
        out.append({"target": name, "value": shown, "met": ok if value is not None else None})

    sat = lambda t: (by.get(("saturation", t)) or {}).get("rps")
    kw, ng, fs = sat("keyward-fsync-off"), sat("nginx"), sat("keyward-fsync-on")
    check("saturation through keyward ≥ nginx proxy_pass (audit on, fsync off)",
          kw and ng, bool(kw and ng and kw >= ng),
          f"{kw:.0f} vs {ng:.0f} req/s ({100 * kw / ng:.0f}%)" if kw and ng else "not measured")
    d, k = by.get(("rate-1000", "direct")), by.get(("rate-1000", "keyward-fsync-off"))
    for p, limit in (("p50", 0.060), ("p99", 0.300)):
        v = (k[p] - d[p]) if d and k and d[p] is not None and k[p] is not None else None
        check(f"added latency over direct at 1000 req/s, {p} ≤ {limit * 1000:.0f} µs", v,
              v is not None and v <= limit,
              f"{v * 1000:+.0f} µs" if v is not None else "not measured")
    if soak:
        v = soak["at_60s_mib"] or soak["last_mib"]
        check("resident memory < 30 MiB at 5k req/s after a minute", v, v < 30.0,
              f"{v:.1f} MiB (peak {soak['peak_mib']:.1f} MiB over {soak['seconds']:.0f} s)")
        if soak["growth_mib_per_min"] is not None and soak["seconds"] >= 120:
            g = soak["growth_mib_per_min"]
            check("no growth over the soak", g, g < 0.1, f"{g:+.2f} MiB/min after the first minute")
    check("fsync on: saturation within 2× of fsync off", fs and kw, bool(fs and kw and 2 * fs >= kw),
          f"{fs:.0f} vs {kw:.0f} req/s ({100 * fs / kw:.0f}%)" if fs and kw else "not measured")
    f1 = by.get(("rate-1000", "keyward-fsync-on"))
    v = f1["p99"] if f1 else None
    check("fsync on: p99 at 1000 req/s < 5 ms", v, v is not None and v < 5.0,
          f"{v:.2f} ms" if v is not None else "not measured")
    return out


def phase_title(phase, first):
    if phase.startswith("rate-"):
        return (f"## Latency at a fixed {first['rate']} req/s ({first['duration']} s, "
                f"{first['connections']} connections, oha, latency-corrected)")
    if phase.startswith("soak-"):
        return (f"## Soak: {first['rate']} req/s for {first['duration']} s ({first['connections']} "
                "connections, oha, latency-corrected)")
    return (f"## Throughput at saturation ({first['duration']} s, {first['connections']} "
            f"connections, {first['tool']})")


def report(runs_path, machine_path, out_path, soak_path=None, json_path=None):
    rows = read_runs(runs_path)
    machine = open(machine_path).read().strip().splitlines()
    soak_samples = read_soak(soak_path) if soak_path else []
    soak = soak_summary(soak_samples)
    md = ["# keyward benchmark results", ""]
    md.append("Produced by `scripts/bench.sh`; how to read it: `docs/benchmark.md`.")
    md.append("")
    md.append("## Machine and setup")
    md.append("")
    md += [f"* {line}" for line in machine]
    md.append("")
    goals = targets(rows, soak)
    md.append("## The targets (issue 15), from this run")
    md.append("")
    md.append("| target | this run | met |")
    md.append("|---|---|---|")
    for g in goals:
        met = {True: "yes", False: "**no**", None: "–"}[g["met"]]
        md.append(f"| {g['target']} | {g['value']} | {met} |")
    md.append("")
    phases = []
    for row in rows:
        if row["phase"] not in phases:
            phases.append(row["phase"])
    for phase in phases:
        prow = [r for r in rows if r["phase"] == phase]
        md.append(phase_title(phase, prow[0]))
        md.append("")
        md += table(prow, not phase.startswith("saturation"))
        md.append("")
        extra = added(prow)
        if extra and phase.startswith("rate-"):
            md.append("keyward's added latency:")
            md.append("")
            md += extra
            md.append("")
        if phase.startswith("soak-") and soak:
            md.append(
                f"Resident memory of keyward, sampled every second: {soak['first_mib']:.1f} MiB at "
                f"the start, {f(soak['at_60s_mib'], 1)} MiB after 60 s, {soak['last_mib']:.1f} MiB "
                f"at the end ({soak['seconds']:.0f} s), peak {soak['peak_mib']:.1f} MiB"
                + (f"; growth after the first minute {soak['growth_mib_per_min']:+.2f} MiB/min"
                   if soak["growth_mib_per_min"] is not None else "") + ".")
            md.append("")
        if phase.startswith("saturation"):
            by = {r["target"]: r["result"]["rps"] for r in prow}
            for kw in KEYWARDS:
                if kw in by:
                    rel = []
                    for base in ("direct", "nginx"):
                        if by.get(base):
                            rel.append(f"{100.0 * by[kw] / by[base]:.0f}% of {base}")
                    if rel:
                        md.append(f"* {TARGET_NAMES[kw]}: " + ", ".join(rel))
            md.append("")
    bad = [r for r in rows if r["result"]["bad"]]
    if bad:
        md.append("**Warning:** some requests did not get HTTP 200: " + "; ".join(
            f"{r['phase']} {r['target']}: {r['result']['bad']} ({r['result']['bad_detail']})"
            for r in bad))
        md.append("")
    md.append(
        "Columns: latencies are per request as the client saw them (at fixed rates measured from "
        "the moment the request was due, so queueing counts). *proxy CPU µs/req* is the CPU time "
        "(user+sys) of the proxy process(es) divided by the requests served; *upstream* the same "
        "for the upstream nginx; *proxy RSS* the proxy's resident memory (all its processes) "
        "right after the run; *load gen.* is oha's/wrk's CPU; *other work* is the CPU time used "
        "on the machine during the run by everything else (other processes, the kernel's "
        "softirq work): when it is large the run competed with something and is noisier."
    )
    md.append("")
    with open(out_path, "w") as fh:
        fh.write("\n".join(md))
    if json_path:
        data = {
            "machine": machine,
            "targets": goals,
            "soak": {"summary": soak, "samples": soak_samples},
            "runs": [
                {
                    "phase": r["phase"],
                    "target": r["target"],
                    "name": TARGET_NAMES.get(r["target"], r["target"]),
                    "proxy_cpu_us_per_req": per_req_us(r["proxy_cpu_s"], r["result"]["requests"]),
                    "proxy_rss_mib": int(r.get("proxy_rss_kib") or 0) / 1024.0,
                    **{k: r["result"][k] for k in ("rps", "p50", "p90", "p99", "p999", "max",
                                                    "requests", "bad")},
                }
                for r in rows
            ],
        }
        with open(json_path, "w") as fh:
            json.dump(data, fh, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one-line")
    ap.add_argument("--runs")
    ap.add_argument("--machine")
    ap.add_argument("--out")
    ap.add_argument("--soak", help="soak-rss.tsv from the soak phase")
    ap.add_argument("--json", help="also write the figures as JSON (for chart.py)")
    a = ap.parse_args()
    if a.one_line:
        one_line(a.one_line)
    elif a.runs and a.machine and a.out:
        report(a.runs, a.machine, a.out, a.soak, a.json)
    else:
        ap.error("give --one-line RAW, or --runs, --machine and --out")


if __name__ == "__main__":
    sys.exit(main())
