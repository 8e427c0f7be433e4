"""A small threaded HTTP server with routing, call recording, fault injection and rate limits.

The channel simulators subclass :class:`SimulatorServer` and register handlers with
:func:`route`. Everything here is stdlib so a simulator starts in milliseconds in a test.
"""

import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict  # name -> list of values, as parse_qs gives them
    headers: dict  # lower-case names
    body: bytes
    params: dict = field(default_factory=dict)  # named groups of the route pattern

    def json(self):
        """The body decoded as JSON; raises ValueError on a malformed body."""
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def form(self):
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class Response:
    status: int = 200
    body: object = None  # dict/list -> JSON, str/bytes as is, None -> empty
    headers: dict = field(default_factory=dict)

    def encoded(self):
        if self.body is None:
            return b"", self.headers
        if isinstance(self.body, bytes):
            return self.body, self.headers
        if isinstance(self.body, str):
            headers = {"Content-Type": "text/plain; charset=utf-8", **self.headers}
            return self.body.encode("utf-8"), headers
        headers = {"Content-Type": "application/json; charset=utf-8", **self.headers}
        return json.dumps(self.body).encode("utf-8"), headers


@dataclass
class RecordedCall:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    status: int
    response_body: bytes
    timestamp: float
    operation: str = ""

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None


class Recorder:
    """Every call a simulator served, so tests can assert what Odoo sent."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls = []

    def add(self, call):
        with self._lock:
            self._calls.append(call)

    def calls(self, path_prefix=None, method=None, operation=None):
        with self._lock:
            calls = list(self._calls)
        return [
            c
            for c in calls
            if (path_prefix is None or c.path.startswith(path_prefix))
            and (method is None or c.method == method)
            and (operation is None or c.operation == operation)
        ]

    def clear(self):
        with self._lock:
            self._calls.clear()


@dataclass
class FaultConfig:
    """Fault injection rates (0..1), drawn per request from a seeded generator."""

    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    rate_429: float = 0.0
    rate_malformed: float = 0.0
    timeout_seconds: float = 5.0
    seed: int = 0


class TokenBucket:
    """A token bucket that starts full (burst) and refills at `rate` tokens per second."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self):
        """Take one token; return True when the call is allowed."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def seconds_until_token(self):
        with self._lock:
            missing = max(0.0, 1.0 - self._tokens)
            return missing / self.rate if self.rate else float("inf")


def route(method, pattern, operation=""):
    """Mark a simulator method as the handler of `method` + `pattern` (a regex on the path)."""

    def decorate(func):
        func._route = (method.upper(), re.compile(f"^{pattern}$"), operation or func.__name__)
        return func

    return decorate


class SimulatorServer:
    """Base class: a ThreadingHTTPServer on loopback in a daemon thread.

    Subclasses define handler methods decorated with :func:`route`; a handler takes a
    :class:`Request` and returns a :class:`Response`. Fault injection happens before the
    handler in :meth:`inject_fault`, which subclasses may override for their protocol.
    """

    def __init__(self, host="127.0.0.1", port=0, faults=None):
        self.host = host
        self.port = port
        self.faults = faults or FaultConfig()
        self.recorder = Recorder()
        self._random = random.Random(self.faults.seed)
        self._random_lock = threading.Lock()
        self._routes = [
            getattr(self, name)._route + (getattr(self, name),)
            for name in dir(type(self))
            if callable(getattr(type(self), name, None)) and hasattr(getattr(type(self), name), "_route")
        ]
        self._httpd = None
        self._thread = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        handler = self._make_handler()
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # a short poll interval keeps stop() (and so each test's teardown) fast
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def serve_forever(self):
        """Run in the foreground until Ctrl-C (the `python -m simulators.X` entry points)."""
        if self._httpd is None:
            self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- faults ----------------------------------------------------------------------------
    def draw(self, rate):
        """True with probability `rate`, from the seeded generator."""
        if rate <= 0:
            return False
        with self._random_lock:
            return self._random.random() < rate

    def inject_fault(self, request, operation):
        """Return a Response to send instead of the real one, or None. Subclasses extend."""
        faults = self.faults
        if self.draw(faults.rate_timeout):
            time.sleep(faults.timeout_seconds)
            return Response(504, {"error": "simulated timeout"})
        if self.draw(faults.rate_5xx):
            return Response(503, "<html><body>503 Service Unavailable (simulated)</body></html>")
        return None

    # -- dispatch --------------------------------------------------------------------------
    def dispatch(self, request):
        for method, pattern, operation, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if match:
                request.params = match.groupdict()
                faulty = self.inject_fault(request, operation)
                if faulty is not None:
                    return operation, faulty
                try:
                    return operation, handler(request)
                except Exception as exc:  # a simulator bug must show up as a 500, not hang
                    return operation, Response(500, {"error": f"simulator error: {exc!r}"})
        return "", Response(404, {"error": f"no route for {request.method} {request.path}"})

    def _make_handler(self):
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Nagle + delayed ACK would add ~40 ms to every keep-alive request
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet: tests read the recorder instead
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                operation, response = simulator.dispatch(request)
                payload, headers = response.encoded()
                # recorded before answering: a test that reads the recorder right after its
                # call returns must already see that call
                simulator.recorder.add(
                    RecordedCall(
                        method=request.method,
                        path=request.path,
                        query=request.query,
                        headers=request.headers,
                        body=request.body,
                        status=response.status,
                        response_body=payload,
                        timestamp=time.time(),
                        operation=operation,
                    )
                )
                try:
                    self.send_response(response.status)
                    for name, value in headers.items():
                        self.send_header(name, str(value))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if payload and self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        return Handler
