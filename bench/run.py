"""`make bench`: run every benchmark and print one table; results also go to a JSON file."""

import argparse
import json
import os
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", 5000)))
    parser.add_argument("--only", help="run one benchmark module (job_engine, clarity, amazon, amazon_feed, amazon_settlement, amazon_notifications)")
    args = parser.parse_args()
    rows = []
    for bench in BENCHMARKS:
        if args.only and bench.__name__.rsplit(".", 1)[-1] != args.only:
            continue
        try:
            rows.extend(bench.measure(args.config, args.database, args.jobs))
        except Exception as error:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            rows.append({"measure": f"{bench.__name__.rsplit('.', 1)[-1]}: {error}"[:36], "value": 0.0,
                         "reference": 0.0, "reference_name": "did not complete", "ratio": 0.0, "goal": "-",
                         "passed": False})
    print_table(rows)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2)
    print(f"\nresults written to {args.output}")
