"""The CLI skeleton: help, version report, exit codes, and the thread budget."""
import re
import subprocess

from conftest import BIN, BUILD, run


def test_help_lists_commands():
    r = run(["--help"])
    assert r.returncode == 0
    assert "usage: algorun" in r.stdout
    assert re.search(r"^\s+version\s", r.stdout, re.M)


def test_version_reports_blas_threading_and_cpu():
    r = run(["--threads", "2", "--version"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"^algorun \d+\.\d+\.\d+$", out, re.M)
    assert "OpenBLAS" in out
    assert re.search(r"blas threading: openmp, kernel: \S+, threads: 2", out)
    assert re.search(r"^threads:\s+2 ", out, re.M)
    assert re.search(r"^cpu features: \S+", out, re.M)


def test_unknown_command_and_option_exit_2():
    for args in (["frobnicate"], ["--frobnicate"], ["--threads"], ["--threads", "x", "version"],
                 ["version", "extra"], []):
        r = run(args)
        assert r.returncode == 2, (args, r.returncode)
        assert r.stderr.strip(), args
    r = run(["frobnicate"])
    assert "unknown command 'frobnicate'" in r.stderr


def test_threads_budget_is_one_pool():
    """With --threads 2 the process never runs more than 2 OS threads although it runs both
    OpenMP loops and threaded sgemm: OpenBLAS shares OpenMP's pool instead of adding its own."""
    for n in (1, 2):
        r = subprocess.run([str(BUILD / "tools" / "thread_probe"), str(n)], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        m = re.search(r"threads=(\d+) os_threads=(\d+) blas=(\w+)", r.stdout)
        assert m, r.stdout
        assert int(m.group(1)) == n
        assert int(m.group(2)) <= n, r.stdout
        assert m.group(3) == "openmp"
