#!/usr/bin/env bash
# The README's quick start on a fresh Debian or Ubuntu machine:
#   bash tools/quickstart.sh demo   install, build, list the devices (clvmap-info),
#                                   run the tour on two CPU devices
#   bash tools/quickstart.sh test   install, build, run every test suite
# Installs with apt-get (through sudo when not root); builds into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-demo}"
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

packages=(pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo meson ninja-build pkg-config gcc g++
          libclblast-dev liblbfgs-dev libpng-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The tests: exactly CI's first phase (every suite, one build).
if [ "$mode" = test ]; then
  exec bash .ci/run --quick
fi

if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build
# PoCL exposes the CPU as OpenCL devices; asking for two shows sharding.
export POCL_DEVICES="${POCL_DEVICES:-pthread pthread}"
# The devices, and the CLV_DEVICES / --devices strings that pick each one.
build/tools/clvmap-info --quick
echo
exec build/examples/tour "${@:2}"
