#!/usr/bin/env bash
# The README's main job, end to end on bundled sample data. Extended as features land.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/algorun
$BIN --version
