#!/usr/bin/env bash
# .ci/intel.sh — clvmap's test suites on Intel's OpenCL CPU runtime.
#
#   bash .ci/intel.sh [meson test arguments...]     e.g.  --suite core
#
# 1. Installs Intel's runtime from PyPI (intel-opencl-rt, intel-cmplr-lib-rt)
#    into a virtual environment of its own, $CI_INTEL_DIR/venv (skipped when
#    libintelocl.so is there already). Nothing outside $CI_INTEL_DIR changes:
#    the system's ICDs (/etc/OpenCL/vendors) are left alone.
# 2. Writes $CI_INTEL_DIR/vendors/intel-cpu.icd naming the full path of its
#    libintelocl.so, and runs everything below with OCL_ICD_VENDORS set to
#    that folder, so the ICD loader sees Intel's platform only (PoCL, and
#    POCL_DEVICES, play no part). Except core/mixed_vendor: it is given
#    $CI_INTEL_DIR/vendors-both (Intel's .icd and the system's, i.e.
#    PoCL's) through CLV_TEST_ICD_VENDORS and builds a mesh of both.
#    LD_LIBRARY_PATH is not needed: libintelocl.so finds its own libraries
#    (RUNPATH $ORIGIN), and the venv's lib folder also holds a libOpenCL.so.1
#    (Khronos' loader) that would replace the system's ocl-icd for the tests.
#    CI_INTEL_LD_LIBRARY_PATH=1 sets it anyway (then Intel's loader is used).
# 3. meson setup + build in $CI_INTEL_BUILD_DIR, then meson test there with
#    the arguments given (default: every suite of a plain `meson test`).
#
# Intel's runtime shows one CPU device. Tests that need several make them
# with sub-devices (tests/test_util.h: "P:0/2"); one CPU with 2 compute units
# splits into at most 2, so the cases that need 3 devices skip, saying why.
#
# Exit status: meson test's; 77 when the runtime cannot be installed or
# shows no device (the reason on the last line), 2 on a setup/build failure.
#
# Environment knobs (all optional):
#   CI_INTEL_DIR          where the runtime lives (build-intel)
#   CI_INTEL_BUILD_DIR    the meson build directory (build-intel/build)
#   CI_INTEL_NO_INSTALL=1 never call pip (use what is installed)
#   CI_INTEL_LD_LIBRARY_PATH=1   also put the runtime's lib folder on LD_LIBRARY_PATH
#   CI_INTEL_SYSTEM_ICDS  the folder whose .icd files join Intel's in
#                         $CI_INTEL_DIR/vendors-both for core/mixed_vendor
#                         (/etc/OpenCL/vendors: PoCL's)
#   CI_INTEL_TIMEOUT      seconds for the whole meson test run (3600)
#   CI_INTEL_TIMEOUT_MULT meson's --timeout-multiplier (3: Intel's kernel
#                         compiler is several times slower than PoCL with its
#                         kernel cache; faults_addons ran past 600 s once)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

DIR=${CI_INTEL_DIR:-build-intel}
BUILD=${CI_INTEL_BUILD_DIR:-$DIR/build}
TIMEOUT=${CI_INTEL_TIMEOUT:-3600}
MULT=${CI_INTEL_TIMEOUT_MULT:-3}
mkdir -p "$DIR" || exit 2
DIR=$(cd "$DIR" && pwd)
VENV=$DIR/venv
LIB=$VENV/lib

# ------------------------------------------------------------------ install
if [ ! -f "$LIB/libintelocl.so" ]; then
    if [ -n "${CI_INTEL_NO_INSTALL:-}" ]; then
        echo "skip: Intel's OpenCL runtime is not in $LIB and CI_INTEL_NO_INSTALL is set"
        exit 77
    fi
    echo "installing intel-opencl-rt and intel-cmplr-lib-rt into $VENV (pip; once)"
    t0=$SECONDS
    if ! { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"; } >"$DIR/pip.log" 2>&1 ||
       ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
            intel-opencl-rt intel-cmplr-lib-rt >>"$DIR/pip.log" 2>&1 ||
       [ ! -f "$LIB/libintelocl.so" ]; then
        tail -n 20 "$DIR/pip.log"
        echo "skip: could not install Intel's OpenCL runtime from PyPI (see $DIR/pip.log)"
        exit 77
    fi
    echo "installed in $((SECONDS - t0)) s"
else
    echo "Intel's OpenCL runtime: $LIB/libintelocl.so (installed)"
fi

# ------------------------------------------------------------------ ICD
mkdir -p "$DIR/vendors" || exit 2
echo "$LIB/libintelocl.so" >"$DIR/vendors/intel-cpu.icd"
export OCL_ICD_VENDORS=$DIR/vendors
# A second folder with the system's ICDs (PoCL's) and Intel's, for the one
# test that wants both (core/mixed_vendor: a mesh of one device of each;
# it points the loader there itself, through CLV_TEST_ICD_VENDORS, and
# skips, saying why, when that shows one platform).
SYS_ICDS=${CI_INTEL_SYSTEM_ICDS:-/etc/OpenCL/vendors}
rm -rf "$DIR/vendors-both" && mkdir -p "$DIR/vendors-both" || exit 2
cp "$DIR/vendors/intel-cpu.icd" "$DIR/vendors-both/"
for icd in "$SYS_ICDS"/*.icd; do
    [ -f "$icd" ] && [ "$(basename "$icd")" != intel-cpu.icd ] && cp "$icd" "$DIR/vendors-both/"
done
if [ "$(ls "$DIR/vendors-both" | wc -l)" -gt 1 ]; then
    export CLV_TEST_ICD_VENDORS=$DIR/vendors-both
    echo "mixed-vendor test: CLV_TEST_ICD_VENDORS=$CLV_TEST_ICD_VENDORS ($(ls "$DIR/vendors-both" | tr '\n' ' '))"
else
    unset CLV_TEST_ICD_VENDORS
    echo "mixed-vendor test: no ICD in $SYS_ICDS besides Intel's (core/mixed_vendor will skip)"
fi
if [ -n "${CI_INTEL_LD_LIBRARY_PATH:-}" ]; then
    export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# The runtime caches nothing in $HOME, but PoCL-only knobs must not leak in.
unset POCL_DEVICES POCL_MEMORY_LIMIT CLV_DEVICES
if command -v clinfo >/dev/null; then
    clinfo -l 2>&1 | sed 's/^/  /'
    if ! clinfo -l 2>/dev/null | grep -q 'Intel'; then
        echo "skip: the ICD loader shows no Intel platform with OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
        exit 77
    fi
fi

# ------------------------------------------------------------------ build + test
if [ -f "$BUILD/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$BUILD" >"$DIR/setup.log" 2>&1
else
    meson setup "$BUILD" >"$DIR/setup.log" 2>&1
fi || { tail -n 30 "$DIR/setup.log"; echo "meson setup $BUILD failed"; exit 2; }
if ! ninja -C "$BUILD" >"$DIR/build.log" 2>&1; then
    grep -E -A12 '^FAILED:' "$DIR/build.log" | head -n 60
    echo "build failed (see $DIR/build.log)"
    exit 2
fi
echo "built $BUILD; meson test $*"
timeout -k 30 "$TIMEOUT" meson test -C "$BUILD" --no-rebuild --print-errorlogs --timeout-multiplier "$MULT" "$@" </dev/null
