"""Press *Test Connection* on the `make run` sandbox's backends once Odoo and the simulators
listen, so that they start Connected instead of Draft (plain stdlib, XML-RPC as admin).

    python3 tools/sandbox_connect.py [--url http://127.0.0.1:8069] [--db commerce]
"""

import argparse
import sys

from sandbox_rpc import add_connection_arguments, connect


def connect_backends(call):
    """Test every active backend not yet connected; return [(name, outcome)]."""
    outcomes = []
    for backend in call("commerce.backend", "search_read", [("state", "in", ("draft", "auth_failed"))],
                        fields=["name"]):
        result = call("commerce.backend", "action_test_connection", [backend["id"]])
        outcomes.append((backend["name"], result["params"]["message"]))
    return outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    args = parser.parse_args()
    for name, outcome in connect_backends(connect(args)):
        print(f"sandbox: {name}: {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
