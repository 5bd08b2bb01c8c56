#!/usr/bin/env bash
# .ci/consumers.sh — does an installed clvmap (or clvmap as a meson
# subproject) work for the programs that use it?
#
#   bash .ci/consumers.sh [--keep]
#
# In a temporary directory (kept with --keep or CI_CONSUMERS_KEEP=1):
#   1. configure clvmap with -Dtests=false -Dexamples=false -Dbenchmarks=false
#      -Dfuzz=false and check that it builds nothing but clvmap-info; install
#      it into a temporary prefix and check the files (every header,
#      clvmap.pc, clvmap-lbfgs.pc with CLBlast, clvmap-mpi.pc with MPI, the
#      CMake package, bin/clvmap-info, which runs);
#   2. pkg-config: cc $(pkg-config --cflags --libs clvmap) tests/consumers/consumer.c,
#      and the clvmap-lbfgs and clvmap-mpi variants when installed;
#   3. CMake: tests/consumers/cmake (find_package(clvmap) with the targets
#      clvmap::clvmap/nss/nuts/csv, and the components lbfgs and mpi when
#      CLBlast and MPI are there);
#   4. meson: tests/consumers/meson with clvmap as its subproject
#      (subprojects/clvmap -> this tree): dependency('clvmap', fallback :
#      'clvmap') and the add-ons'; no clvmap test or target may be defined
#      and no C++ compiler needed (CXX=false).
# Every program runs on one PoCL device (POCL_DEVICES=pthread). One line per
# check ("pass: NAME" or "FAIL: NAME — why"), then "N passed, N failed";
# exit status 0 only when every check passed. Installs cmake with apt-get
# when it is missing and this runs as root (unless CI_NO_APT is set).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
# The project's version (meson.build), its major.minor, and the next minor,
# which a version request must not match.
VERSION=$(sed -n "s/^ *version : '\([0-9.]*\)'.*/\1/p" meson.build | head -n 1)
MAJMIN=${VERSION%.*}
NEXT_MINOR=${MAJMIN%.*}.$(( ${MAJMIN#*.} + 1 ))
export LC_ALL=C POCL_DEVICES=pthread
unset CLV_DEVICES
KEEP=${CI_CONSUMERS_KEEP:-0}
for arg in "$@"; do
    case "$arg" in
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "usage: bash .ci/consumers.sh [--keep]" >&2; exit 2 ;;
    esac
done
if [ -z "${HOME:-}" ]; then export HOME=/root; fi  # PoCL's kernel cache

PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); echo "pass: $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL: $1${2:+ — $2}"; }
# check NAME LOG COMMAND...: run COMMAND (output to LOG); pass or fail NAME
check() {
    local name=$1 log=$2; shift 2
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then pass "$name"; return 0; fi
    fail "$name" "exit $rc, see $log"
    tail -n 25 "$log" | sed 's/^/    | /'
    return 1
}

TMP=$(mktemp -d /tmp/clvmap-consumers.XXXXXX) || exit 2
if [ "$KEEP" = 1 ]; then echo "(working in $TMP, kept)"; else trap 'rm -rf "$TMP"' EXIT; fi
PREFIX=$TMP/prefix LOGS=$TMP/logs
mkdir -p "$LOGS"

if ! command -v cmake >/dev/null && [ "$(id -u)" -eq 0 ] && [ -z "${CI_NO_APT:-}" ] && command -v apt-get >/dev/null; then
    echo "(installing cmake)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null 2>&1; }
fi

# ---- 1. build with every option off, install ---------------------------------
B=$TMP/build
if check "configure with tests, examples, benchmarks, fuzz off" "$LOGS/setup.log" \
        meson setup "$B" --prefix "$PREFIX" -Dtests=false -Dexamples=false -Dbenchmarks=false -Dfuzz=false; then
    # What `ninja` builds: targets built by default. Only clvmap-info.
    built=$(meson introspect --targets "$B" | python3 -c '
import json, sys
print(" ".join(sorted(t["name"] for t in json.load(sys.stdin) if t.get("build_by_default") and t["type"] != "run")))')
    if [ "$built" = "clvmap-info" ]; then pass "options off: only clvmap-info is built ($built)"
    else fail "options off: only clvmap-info is built" "builds: ${built:-nothing}"; fi
    tests=$(meson introspect --tests "$B" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
    if [ "$tests" = 0 ]; then pass "options off: no tests defined"; else fail "options off: no tests defined" "$tests tests"; fi
    check "meson install into a temporary prefix" "$LOGS/install.log" meson install -C "$B"
fi
PCDIR=$(dirname "$(find "$PREFIX" -name clvmap.pc 2>/dev/null | head -n 1)" 2>/dev/null)
has_clblast=0 has_mpi=0
pkg-config --exists clblast 2>/dev/null && has_clblast=1
grep -q 'Run-time dependency MPI for c found: YES' "$B/meson-logs/meson-log.txt" 2>/dev/null && has_mpi=1
missing=()
for f in clvmap.h clvmap_nss.h clvmap_nuts.h clvmap_lbfgs.h clvmap_mpi.h clvmap_csv.h; do
    [ -f "$PREFIX/include/$f" ] || missing+=("include/$f")
done
for f in clvmap clvmap-nss clvmap-nuts clvmap-csv; do
    [ -n "$PCDIR" ] && [ -f "$PCDIR/$f.pc" ] || missing+=("$f.pc")
done
[ $has_clblast = 1 ] && { [ -f "$PCDIR/clvmap-lbfgs.pc" ] || missing+=("clvmap-lbfgs.pc"); }
[ $has_mpi = 1 ] && { [ -f "$PCDIR/clvmap-mpi.pc" ] || missing+=("clvmap-mpi.pc"); }
for f in clvmapConfig.cmake clvmapConfigVersion.cmake; do
    [ -n "$(find "$PREFIX" -path "*/cmake/clvmap/$f" 2>/dev/null)" ] || missing+=("cmake/clvmap/$f")
done
[ -x "$PREFIX/bin/clvmap-info" ] || missing+=("bin/clvmap-info")
if [ ${#missing[@]} -eq 0 ]; then pass "installed files (headers, pkg-config, CMake package, clvmap-info)"
else fail "installed files" "missing: ${missing[*]}"; fi
check "installed clvmap-info runs" "$LOGS/info.log" "$PREFIX/bin/clvmap-info" --quick

# The consumer source, away from the source tree's headers.
SRC=$TMP/src
mkdir -p "$SRC"
cp tests/consumers/consumer.c "$SRC/"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN=$(command -v mpirun || command -v mpiexec || true)

# ---- 2. pkg-config ---------------------------------------------------------------
export PKG_CONFIG_PATH=$PCDIR${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
CC=${CC:-cc}
pc_build() { # NAME PACKAGE [CFLAGS...]
    local name=$1 pkg=$2; shift 2
    # shellcheck disable=SC2046
    "$CC" -std=c99 -Wall -Wextra -Werror "$@" "$SRC/consumer.c" -o "$TMP/$name" $(pkg-config --cflags --libs "$pkg")
}
if check "pkg-config: cc \$(pkg-config --cflags --libs clvmap)" "$LOGS/pc-build.log" pc_build pc_consumer clvmap &&
   check "pkg-config: clvmap-nss clvmap-nuts clvmap-csv" "$LOGS/pc-addons.log" pc_build pc_consumer_addons \
       "clvmap-nss clvmap-nuts clvmap-csv"; then
    check "pkg-config: the consumer runs" "$LOGS/pc-run.log" "$TMP/pc_consumer"
fi
if [ $has_clblast = 1 ]; then
    check "pkg-config: clvmap-lbfgs (CLBlast, CLV_LBFGS_CLBLAST)" "$LOGS/pc-lbfgs.log" \
        pc_build pc_consumer_lbfgs clvmap-lbfgs -DCONSUMER_LBFGS &&
        check "pkg-config: the clvmap-lbfgs consumer runs" "$LOGS/pc-lbfgs-run.log" "$TMP/pc_consumer_lbfgs"
fi
if [ $has_mpi = 1 ]; then
    if check "pkg-config: clvmap-mpi (MPI)" "$LOGS/pc-mpi.log" pc_build pc_consumer_mpi clvmap-mpi -DCONSUMER_MPI &&
       [ -n "$MPIRUN" ]; then
        check "pkg-config: the clvmap-mpi consumer runs under mpirun -np 1" "$LOGS/pc-mpi-run.log" \
            "$MPIRUN" --oversubscribe -np 1 "$TMP/pc_consumer_mpi"
    fi
fi

# ---- 3. CMake ------------------------------------------------------------------
if ! command -v cmake >/dev/null; then
    fail "CMake consumer" "cmake is not installed (Debian: cmake)"
else
    CB=$TMP/cmake-build
    cmake_args=(-S tests/consumers/cmake -B "$CB" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release
                -DCONSUMER_VERSION="$MAJMIN")
    components=""
    [ $has_clblast = 1 ] && { cmake_args+=(-DCONSUMER_LBFGS=ON); components+=" lbfgs"; }
    [ $has_mpi = 1 ] && { cmake_args+=(-DCONSUMER_MPI=ON); components+=" mpi"; }
    if check "CMake: find_package(clvmap $MAJMIN REQUIRED${components:+ COMPONENTS$components})" \
            "$LOGS/cmake-configure.log" cmake "${cmake_args[@]}" &&
       check "CMake: build" "$LOGS/cmake-build.log" cmake --build "$CB"; then
        check "CMake: consumer (clvmap::clvmap, nss, nuts, csv) runs" "$LOGS/cmake-run.log" "$CB/consumer"
        [ $has_clblast = 1 ] && check "CMake: consumer_lbfgs (clvmap::lbfgs) runs" "$LOGS/cmake-lbfgs.log" "$CB/consumer_lbfgs"
        if [ $has_mpi = 1 ] && [ -n "$MPIRUN" ]; then
            check "CMake: consumer_mpi (clvmap::mpi) runs under mpirun -np 1" "$LOGS/cmake-mpi.log" \
                "$MPIRUN" --oversubscribe -np 1 "$CB/consumer_mpi"
        fi
    fi
    # What the package refuses: a later minor version, an unknown component.
    mkdir -p "$TMP/cmake-refuse"
    cat >"$TMP/cmake-refuse/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.14)
project(clvmap_refuse LANGUAGES C)
find_package(clvmap $NEXT_MINOR QUIET)
if(clvmap_FOUND)
  message(FATAL_ERROR "find_package(clvmap $NEXT_MINOR) accepted version \${clvmap_VERSION}")
endif()
find_package(clvmap $MAJMIN QUIET COMPONENTS no_such_component)
if(clvmap_FOUND)
  message(FATAL_ERROR "an unknown component was accepted")
endif()
find_package(clvmap $VERSION EXACT REQUIRED)
if(NOT TARGET clvmap::clvmap)
  message(FATAL_ERROR "no clvmap::clvmap")
endif()
CMAKE
    check "CMake: version $NEXT_MINOR and an unknown component refused, $VERSION EXACT found" "$LOGS/cmake-refuse.log" \
        cmake -S "$TMP/cmake-refuse" -B "$TMP/cmake-refuse/build" -DCMAKE_PREFIX_PATH="$PREFIX"
    # The package is relocatable: a copy of the prefix finds its own headers.
    mkdir -p "$TMP/cmake-moved"
    cp -R "$PREFIX" "$TMP/moved-prefix"
    cat >"$TMP/cmake-moved/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.14)
project(clvmap_moved LANGUAGES C)
find_package(clvmap REQUIRED)
get_target_property(inc clvmap::clvmap INTERFACE_INCLUDE_DIRECTORIES)
if(NOT inc STREQUAL "${MOVED}/include")
  message(FATAL_ERROR "clvmap::clvmap's include directory is ${inc}, not ${MOVED}/include")
endif()
CMAKE
    check "CMake: the package in a moved copy of the prefix points to the copy" "$LOGS/cmake-moved.log" \
        cmake -S "$TMP/cmake-moved" -B "$TMP/cmake-moved/build" -DCMAKE_PREFIX_PATH="$TMP/moved-prefix" \
        -DMOVED="$TMP/moved-prefix"
fi

# ---- 4. meson subproject -----------------------------------------------------
MS=$TMP/meson-parent
mkdir -p "$MS/subprojects"
cp tests/consumers/meson/meson.build "$SRC/consumer.c" "$MS/"
ln -s "$ROOT" "$MS/subprojects/clvmap"
# CXX=false: a C++ compiler would be found only if something asked for one.
# The fallback is forced (and the prefix above is off PKG_CONFIG_PATH) so
# that the subproject is what is tested, even where clvmap is installed.
unset PKG_CONFIG_PATH
if check "meson: a parent project with clvmap as subproject configures (CXX=false)" "$LOGS/meson-setup.log" \
        env CXX=false meson setup "$MS/build" "$MS" \
        --force-fallback-for=clvmap,clvmap-nss,clvmap-nuts,clvmap-csv,clvmap-lbfgs,clvmap-mpi; then
    sub=$(meson introspect --targets "$MS/build" | python3 -c '
import json, sys
print(" ".join(t["name"] for t in json.load(sys.stdin) if t.get("subproject")))')
    if [ -z "$sub" ]; then pass "meson: the subproject defines no target"
    else fail "meson: the subproject defines no target" "it defines: $sub"; fi
    subtests=$(meson introspect --tests "$MS/build" | python3 -c '
import json, sys
print(" ".join(t["name"] for t in json.load(sys.stdin) if not t["name"].startswith("consumer")))')
    if [ -z "$subtests" ]; then pass "meson: the subproject defines no test"
    else fail "meson: the subproject defines no test" "tests: $subtests"; fi
    if check "meson: build" "$LOGS/meson-build.log" ninja -C "$MS/build"; then
        check "meson: consumer tests run (dependency('clvmap', fallback : 'clvmap'), clvmap-nss, clvmap-lbfgs)" \
            "$LOGS/meson-test.log" meson test -C "$MS/build" --print-errorlogs
    fi
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
