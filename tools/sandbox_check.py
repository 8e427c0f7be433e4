"""Check a running `make run` sandbox from outside, over XML-RPC (login admin / admin).

    python3 tools/sandbox_check.py [--url http://127.0.0.1:8069] [--db commerce] [--timeout 300]

Waits until new sale orders arrive from both the Clarity store and the Amazon seller account
(more than at the first look: the streams keep adding some, whatever an earlier run left) and
a stock export to Clarity has run; prints what it sees every 15 s and exits 0 as soon as all
are there, 1 at the timeout. Plain stdlib: runs with any python3.
"""

import argparse
import sys
import time
import xmlrpc.client

from sandbox_rpc import add_connection_arguments, connect

CLARITY_BACKEND = "Sandbox Clarity store"
AMAZON_BACKEND = "Sandbox Amazon seller"


def snapshot(call):
    backends = {b["name"]: b["id"] for b in call(
        "commerce.backend", "search_read", [("name", "in", (CLARITY_BACKEND, AMAZON_BACKEND))], fields=["name"])}
    seen = {}
    for label, name in (("clarity", CLARITY_BACKEND), ("amazon", AMAZON_BACKEND)):
        backend_id = backends.get(name)
        if backend_id is None:
            seen[f"{label}_orders"] = 0
            continue
        seen[f"{label}_orders"] = call("commerce.binding", "search_count",
                                       [("backend_id", "=", backend_id), ("res_model", "=", "sale.order")])
    jobs = call("commerce.job", "read_group", [("backend_id", "in", list(backends.values()))],
                ["job_type", "state"], ["job_type", "state"], lazy=False)
    counts = {(j["job_type"], j["state"]): j["__count"] for j in jobs}
    seen["stock_exports_done"] = counts.get(("clarity.inventory.export", "done"), 0)
    seen["shipments_sent"] = counts.get(("clarity.shipment.export", "done"), 0)
    seen["returns_done"] = counts.get(("clarity.order.return", "done"), 0)
    seen["failed_jobs"] = sum(n for (_type, state), n in counts.items() if state == "failed")
    return seen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the first orders")
    args = parser.parse_args(argv)
    started = time.monotonic()
    deadline = started + args.timeout
    first = None
    while True:
        try:
            seen = snapshot(connect(args))
        except RuntimeError as error:  # refused login
            print(error, file=sys.stderr)
            return 2
        except (OSError, xmlrpc.client.Error) as error:  # Odoo still starting
            seen = {"error": str(error)}
        elapsed = time.monotonic() - started
        print(f"[{elapsed:5.0f} s] " + ", ".join(f"{k}={v}" for k, v in seen.items()), flush=True)
        if "error" not in seen:
            first = first or seen
            if (seen["clarity_orders"] > first["clarity_orders"] and seen["amazon_orders"] > first["amazon_orders"]
                    and seen["stock_exports_done"]):
                print(f"OK: new Clarity and Amazon orders imported and stock pushed after {elapsed:.0f} s")
                return 0
        if time.monotonic() >= deadline:
            print("FAILED: the sandbox did not show Clarity orders, Amazon orders and a stock export in time")
            return 1
        time.sleep(15)


if __name__ == "__main__":
    sys.exit(main())
