#!/usr/bin/env python3
"""Turns scripts/bench.sh's raw outputs into target/bench/results.md.

  report.py --one-line RAW                      one line about one run (progress output)
  report.py --runs runs.tsv --machine machine.txt --out results.md

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
}


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
        "| upstream CPU µs/req | load gen. CPU | other work |"
    )
    out.append("|" + "---|" * 12)
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
            "| {lg:.0f}% of a CPU | {other:.0f}% of a CPU |".format(
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


def added(rows):
    """keyward's added latency (p50, p99) against direct and against nginx, per rate."""
    by = {row["target"]: row["result"] for row in rows}
    lines = []
    for kw in ("keyward-fsync-off", "keyward-fsync-on"):
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


def report(runs_path, machine_path, out_path):
    rows = read_runs(runs_path)
    machine = open(machine_path).read().strip().splitlines()
    md = ["# keyward benchmark results", ""]
    md.append("Produced by `scripts/bench.sh`; how to read it: `docs/benchmark.md`.")
    md.append("")
    md.append("## Machine and setup")
    md.append("")
    md += [f"* {line}" for line in machine]
    md.append("")
    phases = []
    for row in rows:
        if row["phase"] not in phases:
            phases.append(row["phase"])
    for phase in phases:
        prow = [r for r in rows if r["phase"] == phase]
        first = prow[0]
        if phase.startswith("rate-"):
            md.append(
                f"## Latency at a fixed {first['rate']} req/s "
                f"({first['duration']} s, {first['connections']} connections, oha, "
                "latency-corrected)"
            )
        else:
            md.append(
                f"## Throughput at saturation ({first['duration']} s, "
                f"{first['connections']} connections, {first['tool']})"
            )
        md.append("")
        md += table(prow, phase.startswith("rate-"))
        md.append("")
        extra = added(prow)
        if extra and phase.startswith("rate-"):
            md.append("keyward's added latency:")
            md.append("")
            md += extra
            md.append("")
        if not phase.startswith("rate-"):
            by = {r["target"]: r["result"]["rps"] for r in prow}
            for kw in ("keyward-fsync-off", "keyward-fsync-on"):
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
        "for the upstream nginx; *load gen.* is oha's/wrk's CPU; *other work* is the CPU time used "
        "on the machine during the run by everything else (other processes, the kernel's "
        "softirq work): when it is large the run competed with something and is noisier."
    )
    md.append("")
    with open(out_path, "w") as fh:
        fh.write("\n".join(md))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one-line")
    ap.add_argument("--runs")
    ap.add_argument("--machine")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.one_line:
        one_line(a.one_line)
    elif a.runs and a.machine and a.out:
        report(a.runs, a.machine, a.out)
    else:
        ap.error("give --one-line RAW, or --runs, --machine and --out")


if __name__ == "__main__":
    sys.exit(main())
