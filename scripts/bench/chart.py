#!/usr/bin/env python3
"""chart.py RESULTS.JSON OUT.PNG — the benchmark's table as one PNG (scripts/bench.sh): latency
percentiles at each fixed rate, throughput at saturation, and CPU per request, one bar per path.
Needs matplotlib (bench.sh installs it into target/bench/plot-venv)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {
    "direct": "#7f7f7f",
    "nginx": "#2ca02c",
    "keyward-fsync-off": "#1f77b4",
    "keyward-fsync-on": "#ff7f0e",
    "keyward-token": "#9467bd",
}


def main():
    data = json.load(open(sys.argv[1]))
    runs = data["runs"]
    phases = []
    for r in runs:
        if r["phase"] not in phases:
            phases.append(r["phase"])
    latency_phases = [p for p in phases if p.startswith("rate-")]
    targets = []
    for r in runs:
        if r["target"] not in targets:
            targets.append(r["target"])
    names = {r["target"]: r["name"] for r in runs}
    by = {(r["phase"], r["target"]): r for r in runs}

    panels = len(latency_phases) + 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.6))
    width = 0.8 / max(1, len(targets))
    for ax, phase in zip(axes, latency_phases):
        stats = ["p50", "p90", "p99", "p999"]
        for i, t in enumerate(targets):
            r = by.get((phase, t))
            if not r:
                continue
            xs = [j + i * width for j in range(len(stats))]
            ax.bar(xs, [r[s] or 0 for s in stats], width, color=COLOURS.get(t), label=names[t])
        ax.set_xticks([j + width * (len(targets) - 1) / 2 for j in range(len(stats))])
        ax.set_xticklabels(["p50", "p90", "p99", "p99.9"])
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title(f"at {phase.removeprefix('rate-')} req/s")
        ax.grid(axis="y", which="both", alpha=0.3)
    sat = [t for t in targets if ("saturation", t) in by]
    ax = axes[-2]
    ax.bar(range(len(sat)), [by[("saturation", t)]["rps"] for t in sat],
           color=[COLOURS.get(t) for t in sat])
    ax.set_xticks(range(len(sat)))
    ax.set_xticklabels([t.replace("keyward-", "kw ") for t in sat], rotation=30, ha="right")
    ax.set_ylabel("requests/s")
    ax.set_title("saturation throughput")
    ax.grid(axis="y", alpha=0.3)
    ax = axes[-1]
    proxied = [t for t in sat if t != "direct"]
    ax.bar(range(len(proxied)),
           [by[("saturation", t)]["proxy_cpu_us_per_req"] or 0 for t in proxied],
           color=[COLOURS.get(t) for t in proxied])
    ax.set_xticks(range(len(proxied)))
    ax.set_xticklabels([t.replace("keyward-", "kw ") for t in proxied], rotation=30, ha="right")
    ax.set_ylabel("proxy CPU µs per request")
    ax.set_title("CPU per request at saturation")
    ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(targets), fontsize=8)
    fig.suptitle("keyward benchmark (scripts/bench.sh): " + (data["machine"][0] if data["machine"] else ""))
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
