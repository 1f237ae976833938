"""Every walkthrough under examples/ runs end to end (train, metrics, serve, query, batch
transform), so the documentation cannot rot."""
import os
import subprocess

import pytest

from conftest import BIN, ROOT, free_port

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "run.sh").exists())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example, tmp_path):
    env = dict(os.environ, ALGORUN=str(BIN), OUT=str(tmp_path), PORT=str(free_port()))
    r = subprocess.run(["bash", str(example / "run.sh")], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (example / "README.md").exists()
    # Each walkthrough printed final metrics, a served answer and wrote batch output.
    assert ":" in r.stdout and ("predictions" in r.stdout or "," in r.stdout)
    outs = list(tmp_path.rglob("*.out"))
    assert outs and all(o.stat().st_size > 0 for o in outs)
    # The server it started is gone.
    port = env["PORT"]
    assert subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/ping"]).returncode != 0
