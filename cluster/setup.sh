#!/usr/bin/env bash
# Installs what Flock needs on a Debian machine that already has the Swift toolchain:
# OpenBLAS, oneDNN, OpenMPI and SQLite development packages. Safe to run again.
set -euo pipefail

# FLOCK_TEST_PACKAGES: more packages the caller needs (run-tests.sh: the browser the report tests use).
packages=(libopenblas-dev libdnnl-dev libopenmpi-dev openmpi-bin libsqlite3-dev pkg-config ${FLOCK_TEST_PACKAGES:-})
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "error: swift not found on PATH (install the Swift toolchain first)" >&2; exit 1; }

# OpenMPI refuses to start as root unless told; our tests and examples run as whoever calls them.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
