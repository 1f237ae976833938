#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking algorun needs.
# Idempotent: packages already installed are skipped, so a second run only checks.
set -euo pipefail

# Build: compilers, OpenBLAS (its OpenMP build: one thread pool shared with our loops),
# protobuf-c, HTTP, JSON, archives, the experiments store, libcurl.
BUILD_PKGS=(
    build-essential pkg-config clang clang-format
    libopenblas-openmp-dev libopenblas0-openmp
    libprotobuf-c-dev protobuf-c-compiler
    libmicrohttpd-dev libcjson-dev libarchive-dev zlib1g-dev libsqlite3-dev
    libcurl4-openssl-dev
)
# Tests: pytest and the reference implementations the end-to-end tests compare against.
TEST_PKGS=(
    python3 python3-pytest python3-numpy python3-sklearn python3-xgboost python3-scipy
    curl
)
# Benchmarks: more references, load generator, plots, timing.
BENCH_PKGS=(
    python3-pandas python3-faiss python3-threadpoolctl python3-flask gunicorn
    wrk gnuplot-nox time
)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
case "${1:-}" in
--bench | --all) want+=("${BENCH_PKGS[@]}") ;;
"" | --test) ;;
*)
    echo "usage: $0 [--test|--bench|--all]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#want[@]} packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    }
    SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
