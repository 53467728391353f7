#!/usr/bin/env python3
"""Turns the JSON lines of a scripts/bench.sh run into its result file, a Markdown section of
BENCHMARKS.md, and (with --charts-only, under a Python that has matplotlib) PNG charts.

Standard library only, except matplotlib for the charts."""

import argparse
import datetime
import glob
import json
import os
import platform
import sys


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "kernel": platform.release(),
    }


def fmt(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


# Per scenario: a label, the baselines (key, label) it reports, and the ratio's reference.
THROUGHPUT = {
    "source_incrementing_to_topic": (
        "source (polling) → topic",
        [("raw_select_rows_per_second", "keyset SELECT"), ("raw_produce_rows_per_second", "raw produce")],
    ),
    "binlog_to_topic": (
        "binlog → topic",
        [("raw_decode_rows_per_second", "raw binlog decode"), ("raw_produce_rows_per_second", "raw produce")],
    ),
    "sink_fresh_table": (
        "topic → sink, fresh table",
        [("raw_upsert_rows_per_second", "raw upsert"), ("raw_consume_rows_per_second", "raw consume")],
    ),
    "sink_update_existing_rows": (
        "topic → sink, updating rows",
        [("raw_upsert_rows_per_second", "raw upsert"), ("raw_consume_rows_per_second", "raw consume")],
    ),
    "pipeline_burst": ("MariaDB → Kafka → MariaDB", []),
}


# The other tables: scenario, caption, and columns as (header, key, digits; None: as is).
SECTIONS = [
    (
        "pipeline_lag",
        "Lag from COMMIT on the source: to the message being read from the source topic, and to the row "
        "being visible in the target (5 ms resolution):",
        [
            ("capture", "capture", 0),
            ("target rows/s", "rate", 0),
            ("achieved rows/s", "achieved_rows_per_second", 0),
            ("topic p50 ms", "topic_lag_p50_ms", 1),
            ("topic p99 ms", "topic_lag_p99_ms", 1),
            ("topic max ms", "topic_lag_max_ms", 1),
            ("target p50 ms", "lag_p50_ms", 1),
            ("target p99 ms", "lag_p99_ms", 1),
            ("target max ms", "lag_max_ms", 1),
        ],
    ),
    (
        "source_only",
        "The source alone at the top rate (no sink on the same cores and binlog): lag from COMMIT to the "
        "message read from the topic, against the broker's own lag for the same messages produced raw at the "
        "same instants, and the database server's load net of the inserter alone:",
        [
            ("capture", "capture", 0),
            ("achieved rows/s", "achieved_rows_per_second", 0),
            ("topic p50 ms", "topic_lag_p50_ms", 1),
            ("topic p99 ms", "topic_lag_p99_ms", 1),
            ("topic max ms", "topic_lag_max_ms", 1),
            ("raw produce p50 ms", "raw_produce_lag_p50_ms", 1),
            ("raw produce p99 ms", "raw_produce_lag_p99_ms", 1),
            ("server CPU % (inserter alone)", "baseline_server_cpu_percent", 1),
            ("net server CPU %", "net_server_cpu_percent", 1),
            ("net SELECTs/s", "com_select_per_second", 2),
            ("net queries/s", "questions_per_second", 2),
        ],
    ),
    (
        "pipeline_idle_db_load",
        "Database load with the pipeline idle (net of a window before Sluice started):",
        [
            ("capture", "capture", 0),
            ("SELECTs/s", "com_select_per_second", 2),
            ("queries/s", "questions_per_second", 2),
        ],
    ),
    (
        "worker_footprint",
        "Worker footprint (`scripts/bench-worker.sh`):",
        [("REST serving ms", "rest_ms", None), ("ready ms", "ready_ms", None), ("idle RSS MB", "idle_rss_mb", 1)],
    ),
]


def markdown(run):
    out = []
    m = run["machine"]
    out.append(f"## Harness run {run['date']} (commit `{run['commit']}`)\n")
    out.append(
        f"`{run['command']}` — {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, "
        f"Linux {m['kernel']}; {run['seconds'] // 60} min {run['seconds'] % 60} s in all. "
        f"Every ratio is Sluice ÷ the slowest baseline of the same run (its ceiling); raw "
        f"results: `{run['file']}`; charts: `benches/charts/`.\n"
    )
    rows = [r for r in run["results"] if r.get("scenario") in THROUGHPUT]
    if rows:
        out.append(
            "| scenario | shape | rows | Sluice rows/s | start-up s | baselines rows/s | ratio | peak RSS MB | CPU s / M rows | bytes/msg |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            label, baselines = THROUGHPUT[r["scenario"]]
            if r.get("capture"):
                label += f" ({r['capture']})"
            base = ", ".join(
                f"{name} {fmt(r.get(key))}" for key, name in baselines if r.get(key) is not None
            )
            out.append(
                f"| {label} | {r.get('shape', 'users')} | {fmt(r.get('rows'))} | "
                f"{fmt(r.get('sluice_rows_per_second'))} | {fmt(r.get('sluice_startup_seconds'), 2)} | "
                f"{base or '–'} | {fmt(r.get('ratio'), 2)} | "
                f"{fmt(r.get('sluice_peak_rss_mb'), 1)} | "
                f"{fmt(r.get('sluice_cpu_seconds_per_million_rows'), 1)} | {fmt(r.get('bytes_per_message'))} |"
            )
        out.append("")
    for scenario, caption, columns in SECTIONS:
        rows = [r for r in run["results"] if r.get("scenario") == scenario]
        if not rows:
            continue
        out.append(caption + "\n")
        out.append("| " + " | ".join(header for header, _, _ in columns) + " |")
        out.append("|" + "---|" * len(columns))
        for r in rows:
            cells = (str(r.get(key)) if digits is None else fmt(r.get(key), digits) for _, key, digits in columns)
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def report(args):
    results = []
    with open(args.lines) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                results.append(json.loads(line))
    if not results:
        sys.exit("bench_report: no results")
    run = {
        "date": datetime.datetime.strptime(args.stamp, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%d %H:%M UTC"),
        "stamp": args.stamp,
        "commit": args.commit,
        "command": args.command,
        "seconds": args.seconds,
        "machine": machine(),
        "file": args.out,
        "results": results,
    }
    with open(args.out, "w") as f:
        json.dump(run, f, indent=1)
        f.write("\n")
    with open(args.markdown, "a") as f:
        f.write("\n" + markdown(run))
    print(f"bench_report: {len(results)} results → {args.out}, {args.markdown}", file=sys.stderr)


def charts(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted(glob.glob(os.path.join(args.results, "*.json")))
    if not files:
        sys.exit("bench_report: no result files")
    with open(files[-1]) as f:
        run = json.load(f)
    results = run["results"]
    title = f"{run['date']}, commit {run['commit']}, {run['machine']['cores']} cores"
    os.makedirs(args.charts, exist_ok=True)

    # Throughput and peak RSS against the row count (users shape).
    for metric, name, ylabel in [
        ("sluice_rows_per_second", "throughput.png", "rows/s"),
        ("sluice_peak_rss_mb", "memory.png", "peak RSS (MB)"),
    ]:
        fig, ax = plt.subplots(figsize=(8, 5))
        for scenario, (label, baselines) in THROUGHPUT.items():
            points = sorted(
                (r["rows"], r[metric])
                for r in results
                if r.get("scenario") == scenario and r.get("shape", "users") == "users"
                and r.get(metric) is not None and r.get("rows")
            )
            if len(points) == 0:
                continue
            line = ax.plot(*zip(*points), marker="o", label=f"Sluice: {label}")
            if metric == "sluice_rows_per_second":
                ceiling = sorted(
                    (r["rows"], min(r[k] for k, _ in baselines if r.get(k)))
                    for r in results
                    if r.get("scenario") == scenario and r.get("shape", "users") == "users"
                    and any(r.get(k) for k, _ in baselines)
                )
                if ceiling:
                    ax.plot(*zip(*ceiling), linestyle="--", color=line[0].get_color(),
                            label=f"ceiling: {label}")
        ax.set_xscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{ylabel} by size — {title}", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(args.charts, name), dpi=110)
        plt.close(fig)

    # Lag against the ingest rate.
    lag = [r for r in results if r.get("scenario") == "pipeline_lag"]
    if lag:
        fig, ax = plt.subplots(figsize=(8, 5))
        for capture in sorted({r.get("capture") for r in lag}):
            points = sorted(
                (r["rate"], r["lag_p50_ms"], r["lag_p99_ms"]) for r in lag if r.get("capture") == capture
            )
            rates = [p[0] for p in points]
            ax.plot(rates, [p[1] for p in points], marker="o", label=f"{capture} p50")
            ax.plot(rates, [p[2] for p in points], marker="s", linestyle="--", label=f"{capture} p99")
            topic = sorted((r["rate"], r["topic_lag_p99_ms"]) for r in lag
                           if r.get("capture") == capture and "topic_lag_p99_ms" in r)
            if topic:
                ax.plot([p[0] for p in topic], [p[1] for p in topic], marker="^", linestyle=":",
                        label=f"{capture} p99, on the topic")
        ax.set_yscale("log")
        ax.set_xlabel("ingest rate (rows/s)")
        ax.set_ylabel("replication lag (ms)")
        ax.set_title(f"commit → on the topic / visible in target — {title}", fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(args.charts, "lag.png"), dpi=110)
        plt.close(fig)

    # Width: users against the 30-column shape at the same size.
    wide = [r for r in results if r.get("shape") == "wide30"]
    if wide:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
        labels, users_rate, wide_rate, users_cpu, wide_cpu = [], [], [], [], []
        for w in wide:
            match = [
                r for r in results
                if r.get("scenario") == w["scenario"] and r.get("shape", "users") == "users"
                and r.get("rows") == w.get("rows")
            ]
            if not match:
                continue
            labels.append(THROUGHPUT.get(w["scenario"], (w["scenario"],))[0])
            users_rate.append(match[0]["sluice_rows_per_second"])
            wide_rate.append(w["sluice_rows_per_second"])
            users_cpu.append(match[0].get("sluice_cpu_seconds_per_million_rows") or 0)
            wide_cpu.append(w.get("sluice_cpu_seconds_per_million_rows") or 0)
        xs = range(len(labels))
        for ax, (a, b, ylabel) in zip(axes, [(users_rate, wide_rate, "rows/s"), (users_cpu, wide_cpu, "CPU s / M rows")]):
            ax.bar([x - 0.2 for x in xs], a, width=0.4, label="users (5 columns)")
            ax.bar([x + 0.2 for x in xs], b, width=0.4, label="wide (30 columns)")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(labels, rotation=20, fontsize=7, ha="right")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=7)
            ax.grid(True, axis="y", alpha=0.3)
        fig.suptitle(f"row width — {title}", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(args.charts, "width.png"), dpi=110)
        plt.close(fig)
    print(f"bench_report: charts from {files[-1]} → {args.charts}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lines")
    p.add_argument("--out")
    p.add_argument("--command", default="scripts/bench.sh")
    p.add_argument("--commit", default="unknown")
    p.add_argument("--stamp")
    p.add_argument("--seconds", type=int, default=0)
    p.add_argument("--markdown")
    p.add_argument("--charts", default="benches/charts")
    p.add_argument("--results", default="benches/results")
    p.add_argument("--charts-only", action="store_true")
    args = p.parse_args()
    if args.charts_only:
        charts(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
