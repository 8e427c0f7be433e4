"""The warehouse of the `make run` sandbox: ships what Odoo has reserved, as a picker would.

    python3 tools/sandbox_warehouse.py [--url http://127.0.0.1:8069] [--db commerce] [--every 30]

Every ``--every`` seconds it validates the ready deliveries of channel orders over XML-RPC
(login admin / admin) with a tracking number, one delivery per call, so that the connector sends their shipments to
the channels without anyone clicking. Each call is its own transaction, which Odoo retries
when it collides with the job runner reserving the same stock. Plain stdlib.
"""

import argparse
import sys
import time
import xmlrpc.client

from sandbox_rpc import add_connection_arguments, connect

# Amazon ships its FBA orders itself: the connector validates those deliveries when it does.
READY_DELIVERIES = [("picking_type_code", "=", "outgoing"), ("state", "=", "assigned"), ("sale_id", "!=", False),
                    ("sale_id.amazon_fulfillment_channel", "!=", "marketplace")]
CONTEXT = {"skip_backorder": True, "skip_sms": True}


def ship_ready(call, limit, since):
    """Validate up to ``limit`` ready deliveries created since ``since`` (UTC, "YYYY-MM-DD HH:MM:SS");
    return the names of those shipped."""
    shipped = []
    domain = READY_DELIVERIES + [("create_date", ">=", since)]
    for picking in call("stock.picking", "search_read", domain, fields=["name", "origin", "move_ids"],
                        order="id", limit=limit):
        try:
            call("stock.move", "write", picking["move_ids"], {"picked": True})
            # the label's tracking number: channels want one with the shipment
            call("stock.picking", "write", [picking["id"]], {"carrier_tracking_ref": f"1ZSANDBOX{picking['id']:08d}"})
            call("stock.picking", "button_validate", [picking["id"]], context=CONTEXT)
        except xmlrpc.client.Fault as error:  # reported, and tried again on the next round
            print(f"warehouse: {picking['name']} not shipped: {error.faultString.strip().splitlines()[-1]}",
                  file=sys.stderr, flush=True)
            continue
        shipped.append(f"{picking['name']} ({picking['origin']})")
    return shipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--every", type=float, default=30, help="seconds between rounds")
    parser.add_argument("--limit", type=int, default=10, help="deliveries shipped per round at most")
    parser.add_argument("--since", default=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                        help="only deliveries created since (UTC; default: now). The simulators forget "
                             "their orders when they stop: an earlier run's orders are unknown to them.")
    args = parser.parse_args(argv)
    try:
        while True:
            time.sleep(args.every)
            try:
                shipped = ship_ready(connect(args), args.limit, args.since)
            except (OSError, xmlrpc.client.Error, RuntimeError) as error:  # Odoo restarting: next round
                print(f"warehouse: {error}", file=sys.stderr, flush=True)
                continue
            if shipped:
                print(f"warehouse: shipped {', '.join(shipped)}", flush=True)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
