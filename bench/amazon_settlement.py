"""Amazon settlement benchmark: a generated 100,000-line settlement report imported through the
real path (cron poll -> job runner -> getReportDocument -> gzip download -> streamed parse ->
batched insert -> balanced posting -> reconciliation), timed and with the process's peak RSS.

The SP-API simulator runs in a forked child process, so its generated orders and documents are
not counted in the Odoo process's memory. Reference: the parser alone on the same document.

Run alone: ``bench.run --only amazon_settlement`` (``make bench`` runs it when listed in
``bench/run.py``'s BENCHMARKS).
"""

import io
import multiprocessing
import os
import resource
import time

from odoo import SUPERUSER_ID, api

from ..channels.amazon.settlement import read_settlement
from .odoo_env import open_registry

LINES = int(os.environ.get("BENCH_SETTLEMENT_LINES", 100000))
RSS_LIMIT_MB = 300
TIME_LIMIT_S = 120


def _serve_simulator(conn, lines):
    """Child process: a simulator with one generated settlement report, until told to stop."""
    from ..simulators.spapi import SpApiSimulator

    simulator = SpApiSimulator(rate_multiplier=0)
    report_id, settlement_id = simulator.generate_settlement(lines=lines, compress=True)
    document = next(iter(simulator._report_documents.values()))[0]
    simulator.start()
    conn.send({"url": simulator.url, "client_id": simulator.client_id, "client_secret": simulator.client_secret,
               "refresh_token": simulator.refresh_token, "report_id": report_id, "settlement_id": settlement_id,
               "document": document})
    conn.recv()  # any message: stop
    simulator.stop()


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _parse_only(document):
    started = time.perf_counter()
    reader = read_settlement(io.BytesIO(document), "utf-8", "GZIP")
    count = sum(1 for _row in reader.rows())
    return count / (time.perf_counter() - started)


def settlement_import(config, database, registry, lines=LINES):
    parent, child = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_simulator, args=(child, lines), daemon=True)
    process.start()
    try:
        sim = parent.recv()
        document = sim.pop("document")
        reference_lps = _parse_only(document)
        del document
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            env.ref("base.USD").active = True
            marketplace = env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der")
            backend = env["commerce.backend"].create({
                "name": f"Amazon settlement benchmark {sim['settlement_id']}", "channel": "amazon",
                "amazon_endpoint": sim["url"], "amazon_lwa_url": f"{sim['url']}/auth/o2/token",
                "amazon_lwa_client_id": sim["client_id"], "amazon_lwa_client_secret": sim["client_secret"],
                "amazon_refresh_token": sim["refresh_token"], "amazon_marketplace_ids": [(6, 0, marketplace.ids)],
                "currency_id": env.ref("base.USD").id})
            cr.commit()
            baseline_mb = _peak_rss_mb()
            started = time.perf_counter()
            env["commerce.backend"]._cron_amazon_settlements()
            cr.commit()
            env["commerce.job"]._run_jobs(time_budget=600, auto_commit=True)
            seconds = time.perf_counter() - started
            peak_mb = _peak_rss_mb()
            failed = env["commerce.job"].search([("backend_id", "=", backend.id), ("state", "!=", "done")])
            if failed:
                raise RuntimeError(f"settlement jobs did not finish: {failed.mapped('error_message')}")
            steps = ", ".join(f"{job.job_type} {job.duration:.1f} s" for job in env["commerce.job"].search(
                [("backend_id", "=", backend.id)], order="id"))
            settlement = env["commerce.amazon.settlement"].search([("backend_id", "=", backend.id)])
            if settlement.line_count != lines or not settlement.move_id:
                raise RuntimeError(f"expected {lines} lines and an entry, got {settlement.line_count} lines")
    finally:
        parent.send("stop")
        process.join(30)
    lps = lines / seconds
    print(f"Amazon settlement: {lines} lines in {seconds:.1f} s = {lps:,.0f} lines/s; peak RSS {peak_mb:.0f} MB "
          f"(before the import {baseline_mb:.0f} MB); {steps}", flush=True)
    return [
        {"measure": f"Amazon settlement, {lines:,} lines (lines/s)", "value": lps, "reference": reference_lps,
         "reference_name": "parser alone (lines/s)", "ratio": lps / reference_lps,
         "goal": f"< {TIME_LIMIT_S} s ({lines / TIME_LIMIT_S:,.0f}/s)", "passed": seconds < TIME_LIMIT_S},
        {"measure": "Amazon settlement peak RSS (MB)", "value": peak_mb, "reference": baseline_mb,
         "reference_name": "RSS before the import (MB)", "ratio": peak_mb / baseline_mb,
         "goal": f"< {RSS_LIMIT_MB} MB", "passed": peak_mb < RSS_LIMIT_MB},
    ]


def measure(config, database, _jobs):
    return settlement_import(config, database, open_registry(config, database))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    for row in measure(args.config, args.database, 0):
        print(row)
