#!/usr/bin/env bash
# Install the Debian packages pnyx's tests need, only those missing (checked with dpkg-query).
# Needs root or passwordless sudo only when something is missing. Used by `make test` and .ci/run.
#   postgresql        throwaway cluster started by deploy/postgres-test.sh
#   chromium          browser tests (Playwright with executable_path=/usr/bin/chromium)
#   fonts-liberation  so pages render with real metrics in headless Chromium
#   make, python3, python3-venv   the Makefile and its .venv
#   slurm-wlm, munge  the real Slurm 22.05 test clusters of deploy/slurm/dev-cluster.sh
#   slurmdbd, mariadb-server      their accounting database (sacct usage import, sacctmgr shares)
#   python3.11-doc    demo/test text corpus (HTML docs, PSF-2.0) and images (its PNGs)
#   espeak-ng         demo/test audio corpus: speech synthesised offline to WAV
#   gcc, python3-dev  the native build (`make native`, mypyc) and tests/native, which builds it
set -euo pipefail

PACKAGES=(postgresql chromium fonts-liberation make python3 python3-venv python3.11-doc espeak-ng)
PACKAGES+=(gcc python3-dev)  # make native, tests/native
PACKAGES+=(slurm-wlm munge slurmdbd mariadb-server)  # deploy/slurm/dev-cluster.sh

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "system packages present: ${PACKAGES[*]}"
    exit 0
fi
echo "installing: ${missing[*]}"
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || {
        echo "need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
