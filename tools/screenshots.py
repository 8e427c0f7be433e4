"""Screenshots of the connector's main screens for the Apps page (static/description/).

    python tools/screenshots.py [--url http://127.0.0.1:8069] [--db commerce] [--login admin]
                                [--password admin] [--out static/description] [--seed-failures]

Drives headless Chromium (Debian's `chromium`) over the DevTools protocol against a running Odoo,
such as the `make run` sandbox: logs in, opens the dashboard, the Clarity backend form, the job
list on its Failed filter and the form of the latest failed job, and saves one PNG of each. The
database needs a Clarity backend and a failed job: `--seed-failures` first sends that backend two
signed webhooks that fail (a negative quantity: validation; an unknown SKU: business) and waits
for the job runner's cron to run them. Run it from the repository root with the project's venv
(requests, websocket-client): ~/.cache/commerce_connector/venv/bin/python tools/screenshots.py
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import requests
import websocket

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from simulators.clarity import ClaritySimulator  # noqa: E402  (the repository root, just added)

WINDOW = (1440, 900)
ACTION = "/odoo/action-commerce_connector"

# file name, what to open, a selector present once the screen has its data
SCREENS = [
    ("screenshot_dashboard.png", lambda ids: f"{ACTION}.action_commerce_dashboard",
     ".o_commerce_dashboard_kanban .o_kanban_record"),
    ("screenshot_backend.png", lambda ids: f"{ACTION}.action_commerce_backend/{ids['backend']}",
     ".o_form_view .o_field_widget[name=clarity_base_url] input"),
    ("screenshot_jobs.png", lambda ids: f"{ACTION}.action_commerce_job",
     ".o_list_view .o_data_row"),
    ("screenshot_job_failed.png", lambda ids: f"{ACTION}.action_commerce_job/{ids['failed_job']}",
     ".o_form_view .alert-danger .o_field_widget[name=error_message]"),
]


class Odoo:
    def __init__(self, url, db, login, password):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        result = self.rpc("/web/session/authenticate", {"db": db, "login": login, "password": password})
        if not result.get("uid"):
            sys.exit(f"login {login!r} refused by {self.url} (database {db})")

    def rpc(self, path, params):
        response = self.session.post(self.url + path, json={"jsonrpc": "2.0", "params": params}, timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            sys.exit(f"{path}: {body['error']['data']['message']}")
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        return self.rpc("/web/dataset/call_kw", {"model": model, "method": method, "args": list(args), "kwargs": kwargs})

    def search(self, model, domain, order):
        return self.call(model, "search", domain, limit=1, order=order)

    def seed_failures(self, timeout=150):
        """Two orders the Clarity backend's webhook accepts and its job runner then fails."""
        backend = self.call("commerce.backend", "search_read", [("channel", "=", "clarity")],
                            fields=["clarity_webhook_url", "clarity_webhook_secret"], limit=1, order="id")
        if not backend or not backend[0]["clarity_webhook_secret"]:
            sys.exit("--seed-failures needs a Clarity backend with a webhook secret")
        with open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "clarity_order.json")) as handle:
            order = json.load(handle)
        stamp = int(time.time())
        negative = dict(order, ID=stamp, CustomKey=f"SO-{stamp}",
                        SalesItems=[dict(order["SalesItems"][0], Quantity=-2)] + order["SalesItems"][1:])
        unknown_sku = dict(order, ID=stamp + 1, CustomKey=f"SO-{stamp + 1}",
                           SalesItems=order["SalesItems"][:1] + [dict(order["SalesItems"][1], Sku="WID-999-RETIRED")])
        sender = ClaritySimulator(webhook_secret=backend[0]["clarity_webhook_secret"])
        job_ids = []
        for data in (unknown_sku, negative):
            status, body = sender.send_webhook(backend[0]["clarity_webhook_url"], "order.created", data)
            if status != 200:
                sys.exit(f"the webhook answered {status}: {body}")
            job_ids.append(json.loads(body)["job_id"])
        deadline = time.monotonic() + timeout
        while self.call("commerce.job", "search_count", [("id", "in", job_ids), ("state", "!=", "failed")]):
            if time.monotonic() > deadline:
                sys.exit(f"jobs {job_ids} did not fail within {timeout} s: is the job runner cron active?")
            time.sleep(5)

    def record_ids(self):
        backend = self.search("commerce.backend", [("channel", "=", "clarity")], "id")
        failed_job = self.search("commerce.job", [("state", "=", "failed")], "id desc")
        if not backend or not failed_job:
            sys.exit("the database needs a Clarity backend and a failed job")
        return {"backend": backend[0], "failed_job": failed_job[0]}


class Chromium:
    """One headless tab, spoken to over its DevTools websocket."""

    def __init__(self):
        executable = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
        if not executable:
            sys.exit("Chromium not found: apt-get install chromium")
        self.profile = tempfile.mkdtemp(prefix="commerce_screens_")
        self.process = subprocess.Popen([
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank",
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(100):
            if os.path.exists(port_file) and os.path.getsize(port_file) > 5:
                break
            time.sleep(0.1)
        else:
            self.close()
            sys.exit("Chromium did not open its DevTools port")
        with open(port_file, encoding="utf-8") as handle:
            port = int(handle.readline())
        tab = next(t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
                   if t["type"] == "page")
        self.ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, selector, timeout=30):
        expression = f"!!document.querySelector({json.dumps(selector)}) && !document.querySelector('.o_loading_indicator')"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value"):
                time.sleep(1)  # let fonts and the last renders settle
                return
            time.sleep(0.25)
        raise TimeoutError(f"{selector} did not appear")

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="commerce")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "static", "description"))
    parser.add_argument("--seed-failures", action="store_true", help="send two failing orders first")
    args = parser.parse_args()

    odoo = Odoo(args.url, args.db, args.login, args.password)
    if args.seed_failures:
        odoo.seed_failures()
    ids = odoo.record_ids()
    browser = Chromium()
    try:
        browser.send("Network.enable")
        browser.send("Network.setCookie", name="session_id", value=odoo.session.cookies["session_id"],
                     url=odoo.url, httpOnly=True)
        for name, path, ready in SCREENS:
            browser.send("Page.navigate", url=odoo.url + path(ids))
            browser.wait_for(ready)
            png = base64.b64decode(browser.send("Page.captureScreenshot", format="png")["data"])
            target = os.path.join(args.out, name)
            with open(target, "wb") as handle:
                handle.write(png)
            print(f"{target}: {len(png) // 1024} KB")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
