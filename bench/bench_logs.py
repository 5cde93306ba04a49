"""Benchmark: 10,000 log lines of three pods parsed, merged, filtered and rendered (the Logs page's own work).

    .venv/bin/python bench/bench_logs.py [--lines 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.domain.logs import LogFilter, merge_by_time, parse_log, render_lines  # noqa: E402


def body(lines: int, pod: int) -> str:
    rows = []
    for i in range(lines):
        stamp = f"2026-11-22T08:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}.{i % 10}{pod:05d}Z"
        if i % 2:
            text = json.dumps({"level": "error" if i % 97 == 0 else "info", "msg": "request",
                               "status": 500 if i % 97 == 0 else 200, "latency_ms": 12.5})
        else:
            text = f'INFO:     10.128.0.{i % 250}:4000 - "POST /v2/models/m/infer HTTP/1.1" 200 OK'
        rows.append(f"{stamp} {text}")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bodies = [body(args.lines, pod) for pod in range(3)]
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        streams = [parse_log(text, pod=f"pod-{n}", container="server") for n, text in enumerate(bodies)]
        merged = merge_by_time(streams)[-args.lines:]
        kept = LogFilter.build(r"status.: 5\d\d", regex=True, min_level="warning").apply(merged)
        render_lines(kept, timestamps=False, pod_prefix=True)
        times.append(time.perf_counter() - started)
    print(f"3 pods x {args.lines} lines, merged to the newest {args.lines}, regex + level filter, rendered: "
          f"median {statistics.median(times) * 1000:.0f} ms (target 500 ms)")


if __name__ == "__main__":
    main()
