#!/usr/bin/env bash
# Prints the swift build flags that let the compiler use this machine's vector units for
# Flock's own loops (activations, normalization, the recurrent cells' gates, optimizer
# updates): without them Swift targets baseline x86-64 and vectorizes 4 floats wide with
# no FMA. OpenBLAS and oneDNN pick their kernels at run time and are not affected.
# FLOCK_TARGET_CPU overrides the choice (an LLVM CPU name, or "generic" for none), e.g.
# when the binary is built on one machine and run on older ones.
# Usage: swift build $(cluster/swift-cpu-flags.sh)
set -euo pipefail
cpu="${FLOCK_TARGET_CPU:-}"
if [[ -z "$cpu" && "$(uname -m)" == x86_64 && -r /proc/cpuinfo ]]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
  has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
  # AVX2 and FMA (every x86 server CPU since 2013–2017); LLVM keeps 256-bit vectors
  # on AVX-512 CPUs too, so naming a newer CPU gains the loops little.
  if has avx2 fma bmi2 movbe; then cpu=haswell; fi
fi
[[ -z "$cpu" || "$cpu" == generic ]] || echo "-Xswiftc -target-cpu -Xswiftc $cpu"
