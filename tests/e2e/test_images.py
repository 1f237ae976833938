"""The container image recipe. No Docker engine runs here, so the tests check what can be
checked without one: the exec-form entrypoint SageMaker needs, the baked algorithm ID, the
bind-to-port label, and that the runtime stage installs the package of every shared library
the built binary needs (the same entrypoint runs against a temp --ml-root elsewhere)."""
import re
import subprocess

from conftest import BIN, ROOT

DOCKERFILE = (ROOT / "container" / "Dockerfile").read_text()


def runtime_stage():
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)
    assert len(stages) == 3, "multi-stage: build, then runtime"
    assert stages[1].startswith("debian:bookworm AS build")
    return stages[2]


def test_entrypoint_and_labels():
    rt = runtime_stage()
    assert re.search(r'^ENTRYPOINT \["algorun"\]$', rt, re.M)  # exec form: train/serve reach us
    assert "ENV ALGORUN_ALGORITHM=${ALGORITHM}" in rt
    assert "com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true" in rt
    assert "COPY --from=build" in rt and "build-essential" not in rt


def test_runtime_installs_every_needed_library():
    rt = runtime_stage()
    installed = set(re.findall(r"\b(lib[\w.+-]+|zlib1g)\b", rt))
    out = subprocess.run(["readelf", "-d", str(BIN)], capture_output=True, text=True).stdout
    needed = re.findall(r"NEEDED.*\[(.+)\]", out)
    assert "libopenblas.so.0" in needed
    for lib in needed:
        owners = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True,
                                text=True).stdout
        pkgs = {l.split(":")[0] for l in owners.splitlines()}
        assert pkgs, lib
        assert pkgs & (installed | {"libc6"}), (lib, pkgs)


def test_make_images_names_every_algorithm():
    mk = (ROOT / "Makefile").read_text()
    r = subprocess.run([str(BIN), "algorithms", "--json"], capture_output=True, text=True)
    import json
    for a in json.loads(r.stdout):
        assert a["id"] in mk, a["id"]
