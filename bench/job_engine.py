"""Job engine throughput: trivial jobs per minute, one runner vs two, vs a bare ORM loop.

The reference is a bare loop doing the same ORM work per job as the engine's bookkeeping
(mark done, one attempt row, one commit) with no claiming, classification or handler
lookup, so the ratio shows what the engine's safety costs. Two runners are two processes
(two Odoo cron workers), started together on the same queue.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from odoo import SUPERUSER_ID, api, fields

from .odoo_env import open_registry

HANDLER = "bench.noop"
MODULE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = os.path.join(MODULE_DIR, "tools", "odoo_module_entry.py")


def register_handler():
    from odoo.addons.commerce_connector.core.job_registry import register

    register(HANDLER, lambda job: None)


def _backend(env):
    backend = env["commerce.backend"].search([("name", "=", "Benchmark backend")], limit=1)
    return backend or env["commerce.backend"].create({"name": "Benchmark backend", "channel": "clarity"})


def enqueue_jobs(registry, count):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        backend = _backend(env)
        cr.execute("DELETE FROM commerce_job WHERE backend_id = %s", [backend.id])
        env["commerce.job"].create([{"backend_id": backend.id, "job_type": HANDLER, "payload": "{}"}
                                    for _ in range(count)])
        return backend.id


def bare_loop(registry, count):
    """The same per-job ORM work, without the engine."""
    backend_id = enqueue_jobs(registry, count)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        jobs = env["commerce.job"].search([("backend_id", "=", backend_id), ("state", "=", "pending")])
        cr.commit()
        started = time.perf_counter()
        for job in jobs:
            job.write({"state": "started", "date_started": fields.Datetime.now(), "attempts": 1})
            env["commerce.job.attempt"].create({"job_id": job.id, "number": 1, "outcome": "done",
                                                "date_started": fields.Datetime.now()})
            job.write({"state": "done", "date_done": fields.Datetime.now()})
            cr.commit()
        return count / (time.perf_counter() - started)


def run_worker(config, database, start_at):
    """One runner process: wait for the common start, drain the queue, print timings."""
    registry = open_registry(config, database)
    register_handler()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["commerce.job"].search_count([])  # warm the registry before the clock starts
        cr.commit()
        time.sleep(max(0.0, start_at - time.time()))
        started = time.time()
        done = env["commerce.job"]._run_jobs(time_budget=600, batch_size=20, auto_commit=True)
        print(json.dumps({"started": started, "ended": time.time(), "done": done}), flush=True)


def runners(config, database, registry, count, processes):
    enqueue_jobs(registry, count)
    start_at = time.time() + 8  # every process has loaded its registry by then
    procs = [
        subprocess.Popen([sys.executable, ENTRY, os.path.dirname(MODULE_DIR),
                          "odoo.addons.commerce_connector.bench.job_engine", "--worker",
                          "--config", config, "--database", database, "--start-at", str(start_at)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    reports = []
    for proc in procs:
        out, _err = proc.communicate(timeout=900)
        if proc.returncode:
            raise RuntimeError(f"runner process failed ({proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    total = sum(r["done"] for r in reports)
    if total != count:
        raise RuntimeError(f"{total} jobs ran, expected {count}: a job was lost or ran twice")
    elapsed = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    return total / elapsed


def measure(config, database, count):
    registry = open_registry(config, database)
    register_handler()
    bare = bare_loop(registry, count)
    one = runners(config, database, registry, count, 1)
    two = runners(config, database, registry, count, 2)
    return [
        {"measure": "job engine, 1 runner (jobs/min)", "value": one * 60, "reference": bare * 60,
         "reference_name": "bare ORM loop (jobs/min)", "ratio": one / bare, "goal": ">= 10,000 jobs/min",
         "passed": one * 60 >= 10000},
        {"measure": "job engine, 2 runners (jobs/min)", "value": two * 60, "reference": one * 60,
         "reference_name": "1 runner (jobs/min)", "ratio": two / one, "goal": ">= 1.6x one runner",
         "passed": two / one >= 1.6},
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--start-at", type=float, default=0)
    parser.add_argument("--jobs", type=int, default=5000)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.config, args.database, args.start_at)
    else:
        print(json.dumps(measure(args.config, args.database, args.jobs), indent=2))
