"""`make bench`: run every benchmark and print one table; results also go to a JSON file."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback

from . import amazon, amazon_feed, amazon_notifications, amazon_settlement, clarity, job_engine

BENCHMARKS = [job_engine, clarity, amazon, amazon_feed, amazon_settlement, amazon_notifications]


def print_table(rows):
    header = f"{'measure':<36} {'this project':>14} {'reference':>14} {'ratio':>7}  {'goal':<22} result"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['measure']:<36} {row['value']:>14,.1f} {row['reference']:>14,.1f} {row['ratio']:>7.2f}  "
              f"{row['goal']:<22} {'pass' if row['passed'] else 'FAIL'}")
        print(f"{'':<36} {'':>14} {'(' + row['reference_name'] + ')':>14}")


def _name(bench):
    return bench.__name__.rsplit(".", 1)[-1]


def _failed_row(name, error):
    return {"measure": f"{name}: {error}"[:36], "value": 0.0, "reference": 0.0, "reference_name": "did not complete",
            "ratio": 0.0, "goal": "-", "passed": False}


def run_in_process(bench, args):
    try:
        return bench.measure(args.config, args.database, args.jobs)
    except Exception as error:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return [_failed_row(_name(bench), error)]


def run_in_own_process(bench, args):
    """One benchmark in a fresh interpreter: its memory peak and caches are its own, not those
    left by the benchmarks before it (the settlement's RSS goal reads the process's peak)."""
    here = os.path.dirname(os.path.abspath(__file__))
    module_dir = os.path.dirname(here)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        path = output.name
    try:
        process = subprocess.run(
            [sys.executable, os.path.join(module_dir, "tools", "odoo_module_entry.py"), os.path.dirname(module_dir),
             __spec__.name, "--config", args.config, "--database", args.database, "--jobs", str(args.jobs),
             "--only", _name(bench), "--output", path, "--quiet"], check=False)
        with open(path, encoding="utf-8") as handle:
            rows = json.load(handle) if os.path.getsize(path) else []
        return rows or [_failed_row(_name(bench), f"exit code {process.returncode}")]
    finally:
        os.unlink(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", 5000)))
    parser.add_argument("--only", help="run one benchmark module (job_engine, clarity, amazon, amazon_feed, amazon_settlement, amazon_notifications)")
    parser.add_argument("--quiet", action="store_true", help="write the rows, print no table")
    args = parser.parse_args()
    rows = []
    for bench in BENCHMARKS:
        if args.only:
            if _name(bench) == args.only:
                rows.extend(run_in_process(bench, args))
        else:
            rows.extend(run_in_own_process(bench, args))
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2)
    if not args.quiet:
        print_table(rows)
        print(f"\nresults written to {args.output}")
