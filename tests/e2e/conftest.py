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


@pytest.fixture
def algorun():
    return run
