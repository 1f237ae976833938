"""Shared fixtures for the end-to-end tests: where the built binaries and test data are."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("ALGORUN_BUILD", ROOT / "build"))
BIN = pathlib.Path(os.environ.get("ALGORUN_BIN", BUILD / "algorun"))
DATA = ROOT / "tests" / "data"

# Every `algorun run` records into the experiments store ($ALGORUN_HOME/experiments.db): keep
# the test session's records out of the user's ~/.algorun.
if "ALGORUN_HOME" not in os.environ:
    import tempfile

    os.environ["ALGORUN_HOME"] = tempfile.mkdtemp(prefix="algorun-home-")


def run(args, **kw):
    """Runs the algorun CLI with `args`; returns the CompletedProcess (text mode)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run([str(BIN)] + [str(a) for a in args], **kw)


@pytest.fixture(autouse=True)
def fresh_store(tmp_path_factory, monkeypatch):
    """Each test gets its own experiments store: job names are unique per store, as training
    job names are per account in SageMaker."""
    monkeypatch.setenv("ALGORUN_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def algorun():
    return run


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`algorun serve` on a loopback port; stopped by PID when the test ends."""

    def __init__(self, model, env=None, args=()):
        import os
        import time
        import urllib.request
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = dict(os.environ)
        e.update(env or {})
        self.log = open(os.devnull, "w")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--model-dir", str(model), "--host", "127.0.0.1", "--port",
             str(self.port)] + list(args), env=e, stdout=self.log, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read())
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("server did not answer /ping")
            time.sleep(0.05)

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, body bytes) over a real HTTP connection."""
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def invoke(self, body, content_type, accept=None):
        h = {"Content-Type": content_type}
        if accept:
            h["Accept"] = accept
        return self.request("POST", "/invocations", body, h)

    def stop(self):
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def serve():
    servers = []

    def start(model, env=None, args=()):
        s = Server(model, env, args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
