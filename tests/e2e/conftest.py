"""Shared fixtures for the end-to-end tests: where the built binaries and test data are."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("ALGORUN_BUILD", ROOT / "build"))
BIN = pathlib.Path(os.environ.get("ALGORUN_BIN", BUILD / "algorun"))
DATA = ROOT / "tests" / "data"


def run(args, **kw):
    """Runs the algorun CLI with `args`; returns the CompletedProcess (text mode)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run([str(BIN)] + [str(a) for a in args], **kw)


@pytest.fixture
def algorun():
    return run
