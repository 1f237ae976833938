#!/usr/bin/env bash
# Project rules a compiler does not check (STYLE.md 2.6, 2.12): every OpenMP parallel region
# states num_threads; no banned libc calls; exit() only in container/.
set -u
cd "$(dirname "$0")/.."
status=0
src=$(git ls-files '*.c' '*.h' 2>/dev/null || find core io algorithms container tests -name '*.[ch]')

bad=$(grep -nE '#pragma omp parallel' $src | grep -v 'num_threads' || true)
if [ -n "$bad" ]; then
    echo "lint: omp parallel without num_threads:"; echo "$bad"; status=1
fi
bad=$(grep -nE '\b(atoi|atof|atol|sprintf|vsprintf|strcpy|strcat|strtok|rand|srand|setlocale|gets)\s*\(' $src |
      grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)' || true)
if [ -n "$bad" ]; then
    echo "lint: banned function (use strtol/strtod, snprintf, core/rng, ...):"; echo "$bad"; status=1
fi
bad=$(grep -nE '\bexit\s*\(' $(echo "$src" | grep -vE '^(container|tests)/') || true)
if [ -n "$bad" ]; then
    echo "lint: exit() outside container/:"; echo "$bad"; status=1
fi
bad=$(grep -lE '#include <(cblas|omp|microhttpd|protobuf-c/protobuf-c)\.h>' $src |
      grep -vE "^(core/blas\.c|core/par\.c|container/server[a-z_]*\.c|io/recordio[a-z_]*\.c|tests/)" || true)
if [ -n "$bad" ]; then
    echo "lint: wrapped library header included outside its wrapper:"; echo "$bad"; status=1
fi
[ $status -eq 0 ] && echo "lint: ok"
exit $status
