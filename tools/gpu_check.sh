#!/usr/bin/env bash
# tools/gpu_check.sh — clvmap on an NVIDIA GPU in one command (8 minutes at
# most), ending with one report file.
#
#   bash tools/gpu_check.sh [--out DIR] [--dry-run] [--quick]
#   bash tools/gpu_check.sh --pack [DIR]      (on a machine that has them)
#
# 1. The ICD: finds NVIDIA's OpenCL library, libnvidia-opencl.so.1 (ldconfig
#    -p, then /usr/lib/x86_64-linux-gnu, /usr/lib64, /usr/lib, /usr/local/
#    nvidia/lib64, /usr/lib/nvidia*, /usr/local/cuda*/lib64, /run/nvidia/
#    driver/...), writes WORK/vendors/nvidia.icd naming its full path and
#    points the ICD loader at that folder alone (OCL_ICD_VENDORS): the
#    system's ICDs are left alone. WORK (GPU_CHECK_WORK; default
#    ${TMPDIR:-/tmp}/clvmap-gpu-check-UID) also holds the build; a rerun
#    keeps the programs that are newer than the sources. GPU_CHECK_ICD=FILE uses FILE instead: an .icd
#    file (e.g. /etc/OpenCL/vendors/pocl.icd, to try this script on a CPU)
#    or the library itself.
# 2. The ICD loader (libOpenCL.so.1: Debian's ocl-icd or Khronos') and the
#    OpenCL headers (CL/cl.h), which a GPU machine may lack: the system's
#    when present, else a carried copy: GPU_CHECK_CARRY=DIR, or gpu-carry/
#    in the repository, holding lib/libOpenCL.so.1 and include/CL/*.h.
#    Make it on a machine that has them (apt-get install ocl-icd-libopencl1
#    opencl-headers) with `bash tools/gpu_check.sh --pack` (writes
#    gpu-carry/, ignored by git) and take it along (the device tool's
#    carry: ["gpu-carry"]; or rsync/scp it next to the checkout).
# 3. Builds with meson + ninja when both are there and meson finds OpenCL,
#    else with plain cc (gcc; C99; one program per test, in parallel):
#    the core, nss, nuts and lbfgs tests, clvmap-info and the benchmark
#    drivers. GPU_CHECK_BUILD=cc or =meson chooses.
# 4. Runs clvmap-info, then the tests with CLV_TEST_SMALL=1 (each under a
#    time limit, GPU_CHECK_TEST_TIMEOUT, 90 s), then the headline benchmarks
#    at reduced sizes (GMM log-density f32/f64 one launch and chunk 4096, NSS
#    10-d Gaussian, NUTS models, L-BFGS when liblbfgs is there), each
#    skipped once the budget (GPU_CHECK_BUDGET, 480 s, from the start) would
#    run out, saying so.
# 5. Writes DIR/gpu_check.md: the machine, nvidia-smi, the ICD and loader
#    used, the devices, the build, a table of the tests (passed / failed /
#    skipped and why / not run, seconds), each failure's last lines, and the
#    benchmarks' output; every program's full output is in DIR/logs/.
#
# GPU_CHECK_PREFER_CARRY=1 uses the carried loader and headers even where
# the system has its own (to try the carried path).
# DIR: --out, else $OUT (the device tool's folder that comes back), else
# ./gpu-check. --dry-run: only steps 1-2 and the plan (what would be built
# and run) in the report; the tools suite tests that. --quick: one test
# and one benchmark (to try the whole path fast).
# Exit status: 0 when nothing that ran failed, 1 when a test or benchmark
# failed, 2 when there is nothing to run on (no ICD, loader, headers or
# compiler; the report says which and how to fix it).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
T0=$SECONDS
# ldconfig is in /sbin, often not on a user's PATH
case $(uname -m) in aarch64) ARCH='AArch64' ;; *) ARCH='x86-64' ;; esac  # ldconfig -p's words
ldcache() { { command -v ldconfig >/dev/null && ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null; }
BUDGET=${GPU_CHECK_BUDGET:-480}
TEST_TIMEOUT=${GPU_CHECK_TEST_TIMEOUT:-90}
DRY=0 QUICK=0 PACK= OUTDIR=${OUT:-}
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUTDIR=${2:?--out needs a folder}; shift ;;
        --dry-run) DRY=1 ;;
        --quick) QUICK=1 ;;
        --pack) PACK=${2:-$REPO/gpu-carry}; [ $# -gt 1 ] && shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# ------------------------------------------------------------------ --pack
if [ -n "$PACK" ]; then
    loader=$(ldcache | awk -v a="$ARCH" '/libOpenCL\.so\.1 / && index($0, a) {print $NF; exit}')
    [ -n "$loader" ] || loader=$(ls /usr/lib/"$(uname -m)"-linux-gnu/libOpenCL.so.1 2>/dev/null)
    [ -n "$loader" ] || { echo "--pack: no libOpenCL.so.1 here (apt-get install ocl-icd-libopencl1)"; exit 2; }
    [ -f /usr/include/CL/cl.h ] || { echo "--pack: no /usr/include/CL/cl.h here (apt-get install opencl-headers)"; exit 2; }
    mkdir -p "$PACK/lib" "$PACK/include" || exit 2
    cp -L "$loader" "$PACK/lib/libOpenCL.so.1" && cp -r /usr/include/CL "$PACK/include/" || exit 2
    echo "packed $loader and /usr/include/CL into $PACK ($(du -sh "$PACK" | cut -f1)); carry it along"
    exit 0
fi

OUTDIR=${OUTDIR:-$PWD/gpu-check}
mkdir -p "$OUTDIR/logs" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
# build products outside DIR: DIR is what comes back (the device tool's $OUT)
WORK=${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/clvmap-gpu-check-$(id -u)}
mkdir -p "$WORK" || exit 2
REPORT=$OUTDIR/gpu_check.md
SECTIONS=$WORK/sections.md
: >"$SECTIONS"
FAILED=0
left() { echo $((BUDGET - (SECONDS - T0))); }
note() { echo "$*"; echo "$*" >>"$SECTIONS"; }
fence() { echo '```' >>"$SECTIONS"; cat >>"$SECTIONS"; echo '```' >>"$SECTIONS"; }

write_report() {
    {
        echo "# clvmap GPU check"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- host: $(uname -n), $(uname -sm), $(nproc 2>/dev/null || echo '?') cores"
        echo "- commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "- mode: $([ $DRY = 1 ] && echo dry run || { [ $QUICK = 1 ] && echo quick || echo full; })," \
             "budget ${BUDGET} s, took $((SECONDS - T0)) s"
        echo
        cat "$SECTIONS"
    } >"$REPORT"
}
give_up() { note; note "**Stopped:** $*"; write_report; echo "report: $REPORT"; exit 2; }

# ------------------------------------------------------------------ 1. ICD
note "## ICD"
note
find_nvidia() {
    local f d
    f=$(ldcache | awk -v a="$ARCH" '/libnvidia-opencl\.so\.1 / && index($0, a) {print $NF; exit}')
    [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return; }
    for d in ${GPU_CHECK_NVIDIA_DIRS:-} /usr/lib/$(uname -m)-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 \
             /usr/local/nvidia/lib /usr/lib/nvidia* /usr/lib/x86_64-linux-gnu/nvidia/current /usr/local/cuda*/lib64 \
             /usr/local/cuda*/targets/x86_64-linux/lib /run/nvidia/driver/usr/lib/$(uname -m)-linux-gnu /opt/nvidia/lib64; do
        for f in "$d"/libnvidia-opencl.so.1 "$d"/libnvidia-opencl.so.[0-9]*; do
            [ -f "$f" ] && { echo "$f"; return; }
        done
    done
}
mkdir -p "$WORK/vendors" && rm -f "$WORK/vendors"/*.icd
if [ -n "${GPU_CHECK_ICD:-}" ]; then
    [ -f "$GPU_CHECK_ICD" ] || give_up "GPU_CHECK_ICD=$GPU_CHECK_ICD is not a file"
    case $GPU_CHECK_ICD in
        *.icd) cp "$GPU_CHECK_ICD" "$WORK/vendors/" ;;
        *) echo "$GPU_CHECK_ICD" >"$WORK/vendors/gpu_check.icd" ;;
    esac
    note "- GPU_CHECK_ICD=$GPU_CHECK_ICD (the NVIDIA lookup skipped)"
else
    lib=$(find_nvidia)
    if [ -z "$lib" ]; then
        note "- no libnvidia-opencl.so.1 (ldconfig -p, the usual folders; GPU_CHECK_NVIDIA_DIRS adds some)"
        [ -f /etc/OpenCL/vendors/nvidia.icd ] && note "- /etc/OpenCL/vendors/nvidia.icd says: $(cat /etc/OpenCL/vendors/nvidia.icd)"
        give_up "no NVIDIA OpenCL library found: is the driver installed (nvidia-smi)? Its OpenCL part is the package libnvidia-compute-NNN (Ubuntu) or nvidia-opencl-icd (Debian); or set GPU_CHECK_ICD"
    fi
    echo "$lib" >"$WORK/vendors/nvidia.icd"
    note "- NVIDIA's OpenCL: \`$lib\`"
fi
export OCL_ICD_VENDORS=$WORK/vendors
unset OCL_ICD_FILENAMES CLV_DEVICES POCL_DEVICES
note "- OCL_ICD_VENDORS=$OCL_ICD_VENDORS: $(cd "$WORK/vendors" && for f in *.icd; do printf '%s -> %s ' "$f" "$(cat "$f")"; done)"
if command -v nvidia-smi >/dev/null; then
    note "- nvidia-smi:"
    { nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } 2>&1 |
        head -n 20 | fence
else
    note "- nvidia-smi: not found"
fi

# ------------------------------------------------------------------ 2. loader, headers, compiler
note
note "## Loader, headers, compiler"
note
CARRY=${GPU_CHECK_CARRY:-$REPO/gpu-carry}
CC=${CC:-$(command -v cc || command -v gcc || command -v clang)}
[ -n "$CC" ] || give_up "no C compiler (cc, gcc, clang)"
note "- compiler: $CC ($("$CC" --version 2>&1 | head -n 1))"
PREFER_CARRY=${GPU_CHECK_PREFER_CARRY:-0}  # 1: the carried copies even where the system has its own
LOADER=
if [ "$PREFER_CARRY" != 1 ] || [ ! -f "$CARRY/lib/libOpenCL.so.1" ]; then
    LOADER=$(ldcache | awk -v a="$ARCH" '/libOpenCL\.so\.1 / && index($0, a) {print $NF; exit}')
    for f in /usr/lib/$(uname -m)-linux-gnu/libOpenCL.so.1 /usr/lib64/libOpenCL.so.1; do
        [ -z "$LOADER" ] && [ -f "$f" ] && LOADER=$f
    done
fi
if [ -n "$LOADER" ]; then
    note "- ICD loader: \`$LOADER\` (the system's)"
elif [ -f "$CARRY/lib/libOpenCL.so.1" ]; then
    LOADER=$CARRY/lib/libOpenCL.so.1
    export LD_LIBRARY_PATH=$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    note "- ICD loader: \`$LOADER\` (carried; LD_LIBRARY_PATH set)"
else
    give_up "no libOpenCL.so.1 (the ICD loader): apt-get install ocl-icd-libopencl1, or carry one: run \`bash tools/gpu_check.sh --pack\` where it is installed and bring gpu-carry/ along (or set GPU_CHECK_CARRY)"
fi
CFLAGS_CL=()
if { [ "$PREFER_CARRY" != 1 ] || [ ! -f "$CARRY/include/CL/cl.h" ]; } &&
   echo '#include <CL/cl.h>' | "$CC" -E -x c - >/dev/null 2>&1; then
    note "- OpenCL headers: the system's"
elif [ -f "$CARRY/include/CL/cl.h" ]; then
    CFLAGS_CL=(-I"$CARRY/include")
    note "- OpenCL headers: \`$CARRY/include\` (carried)"
else
    give_up "no CL/cl.h: apt-get install opencl-headers, or carry them (\`bash tools/gpu_check.sh --pack\`)"
fi
HAVE_LBFGS=0
echo '#include <lbfgs.h>' | "$CC" -E -x c - >/dev/null 2>&1 && HAVE_LBFGS=1

# ------------------------------------------------------------------ the plan
# suite|name|source|include dirs (repo-relative, comma-separated)|extra libs|meson binary
PLAN=(
    "core|rng|tests/test_rng.c|tests||tests/test_rng"
    "core|invariance|tests/test_invariance.c|tests||tests/test_invariance"
    "core|reduce|tests/test_reduce.c|tests||tests/test_reduce"
    "core|memory|tests/test_memory.c|tests||tests/test_memory"
    "core|errors|tests/test_errors.c|tests||tests/test_errors"
    "core|devices|tests/test_devices.c|tests||tests/test_devices"
    "core|group|tests/test_group.c|tests||tests/test_group"
    "core|library|tests/test_library.c|tests|-lpthread|tests/test_library"
    "core|stream|tests/test_stream.c|tests|-lpthread|tests/test_stream"
    "nss|nss_evidence|tests/nss/test_nss_evidence.c|tests/nss,tests,examples||tests/nss/test_nss_evidence"
    "nss|nss_honest|tests/nss/test_nss_honest.c|tests/nss,tests,examples||tests/nss/test_nss_honest"
    "nss|nss_invariance|tests/nss/test_nss_invariance.c|tests/nss,tests,examples||tests/nss/test_nss_invariance"
    "nss|nss_memory|tests/nss/test_nss_memory.c|tests/nss,tests,examples||tests/nss/test_nss_memory"
    "nss|nss_errors|tests/nss/test_nss_errors.c|tests/nss,tests,examples||tests/nss/test_nss_errors"
    "nuts|nuts_diagnostics|tests/nuts/test_nuts_diagnostics.c|tests/nuts,tests,examples||tests/nuts/test_nuts_diagnostics"
    "nuts|nuts_posterior|tests/nuts/test_nuts_posterior.c|tests/nuts,tests,examples||tests/nuts/test_nuts_posterior"
    "nuts|nuts_invariance|tests/nuts/test_nuts_invariance.c|tests/nuts,tests,examples||tests/nuts/test_nuts_invariance"
    "nuts|nuts_errors|tests/nuts/test_nuts_errors.c|tests/nuts,tests,examples||tests/nuts/test_nuts_errors"
    "nuts|nuts_cooperative|tests/nuts/test_nuts_cooperative.c|tests/nuts,tests,examples||tests/nuts/test_nuts_cooperative"
    "lbfgs|lbfgs_api|tests/lbfgs/test_lbfgs_api.c|tests/lbfgs,tests||tests/lbfgs/test_lbfgs_api"
    "lbfgs|lbfgs_logistic|tests/lbfgs/test_lbfgs_logistic.c|tests/lbfgs,tests||tests/lbfgs/test_lbfgs_logistic"
    "lbfgs|lbfgs_invariance|tests/lbfgs/test_lbfgs_invariance.c|tests/lbfgs,tests||tests/lbfgs/test_lbfgs_invariance"
    "lbfgs|lbfgs_failures|tests/lbfgs/test_lbfgs_failures.c|tests/lbfgs,tests||tests/lbfgs/test_lbfgs_failures"
)
[ $HAVE_LBFGS = 1 ] &&
    PLAN+=("lbfgs|lbfgs_reference|tests/lbfgs/test_lbfgs_reference.c|tests/lbfgs,tests|-llbfgs|tests/lbfgs/test_lbfgs_reference")
# name|program|source|include dirs|extra libs|meson binary|arguments
# (programs are built once each, as bench_*: test names stay free)
BENCH=(
    "gmm_f32_launch|bench_gmm|tests/bench/bench_gmm.c|examples||tests/bench/bench_gmm|--items 1048576 --repeats 3 --dtype f32 --chunk none --variant launch"
    "gmm_f32_chunk4096|bench_gmm|tests/bench/bench_gmm.c|examples||tests/bench/bench_gmm|--items 1048576 --repeats 3 --dtype f32 --chunk 4096 --variant chunk4096"
    "gmm_f64_launch|bench_gmm|tests/bench/bench_gmm.c|examples||tests/bench/bench_gmm|--items 1048576 --repeats 3 --dtype f64 --chunk none --variant launch"
    "gmm_f64_chunk4096|bench_gmm|tests/bench/bench_gmm.c|examples||tests/bench/bench_gmm|--items 1048576 --repeats 3 --dtype f64 --chunk 4096 --variant chunk4096"
    "nss_gauss10|bench_nss|tests/bench/nss_bench.c|tests/nss,tests,examples||tests/nss/nss_bench|--runs 1 --chunk none"
    "nuts_models|bench_nuts|tests/bench/nuts_bench.c|tests/nuts,tests,examples||tests/nuts/nuts_bench|--runs 1 --draws 500"
)
[ $HAVE_LBFGS = 1 ] &&
    BENCH+=("lbfgs_logistic|bench_lbfgs|tests/bench/lbfgs_bench.c|tests/lbfgs,tests|-llbfgs|tests/lbfgs/lbfgs_bench|--problem logistic --linesearch backtracking --items 256 --tool clvmap")
if [ $QUICK = 1 ]; then PLAN=("${PLAN[0]}"); BENCH=("${BENCH[0]}"); fi

MODE=${GPU_CHECK_BUILD:-auto}
if [ "$MODE" = auto ]; then
    MODE=cc
    if command -v meson >/dev/null && command -v ninja >/dev/null && [ ${#CFLAGS_CL[@]} -eq 0 ]; then MODE=meson; fi
fi
note "- build: $MODE$([ $HAVE_LBFGS = 0 ] && echo '; liblbfgs absent: lbfgs_reference and the L-BFGS benchmark left out')"

if [ $DRY = 1 ]; then
    note
    note "## Plan (dry run: nothing built or run)"
    note
    for p in "${PLAN[@]}"; do IFS='|' read -r suite name src _ <<<"$p"; note "- test $suite/$name ($src)"; done
    for b in "${BENCH[@]}"; do IFS='|' read -r name _ src _ _ _ args <<<"$b"; note "- benchmark $name: $src $args"; done
    write_report
    echo "report: $REPORT"
    exit 0
fi

# ------------------------------------------------------------------ 3. build
note
note "## Build"
note
BIN=$WORK/bin
key="$MODE $CC $LOADER ${CFLAGS_CL[*]} $REPO"  # programs of another build setup are not kept
[ "$(cat "$BIN/.key" 2>/dev/null)" = "$key" ] || rm -rf "$BIN"
mkdir -p "$BIN" && echo "$key" >"$BIN/.key"
tb=$SECONDS
build_cc() {  # name source incs libs; kept when newer than every source (a rerun)
    local incs=() d
    if [ -x "$BIN/$1" ] && [ -z "$(find "$REPO/include" "$REPO/tests" "$REPO/examples" "$REPO/tools" \
            -name '*.[ch]' -newer "$BIN/$1" -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    IFS=',' read -ra ds <<<"$3"
    for d in "${ds[@]}"; do [ -n "$d" ] && incs+=(-I"$REPO/$d"); done
    "$CC" -std=c99 -O2 -I"$REPO/include" "${incs[@]}" "${CFLAGS_CL[@]}" "$REPO/$2" \
        -o "$BIN/$1" "$LOADER" -Wl,-rpath,"$(dirname "$LOADER")" $4 -lm -lpthread >"$OUTDIR/logs/build_$1.log" 2>&1
}
if [ "$MODE" = meson ]; then
    MB=$WORK/meson-build
    if ! { [ -f "$MB/build.ninja" ] || meson setup "$MB" "$REPO" -Dbenchmarks=true >"$OUTDIR/logs/meson_setup.log" 2>&1; }; then
        note "- meson setup failed (logs/meson_setup.log: $(tail -n 1 "$OUTDIR/logs/meson_setup.log")): plain cc instead"
        MODE=cc
    else
        targets=(tools/clvmap-info)
        for p in "${PLAN[@]}"; do IFS='|' read -r _ _ _ _ _ mb <<<"$p"; targets+=("$mb"); done
        for b in "${BENCH[@]}"; do IFS='|' read -r _ _ _ _ _ mb _ <<<"$b"; targets+=("$mb"); done
        if ninja -C "$MB" $(printf '%s\n' "${targets[@]}" | sort -u) >"$OUTDIR/logs/build.log" 2>&1; then
            ln -sf "$MB/tools/clvmap-info" "$BIN/clvmap-info"
            for p in "${PLAN[@]}"; do IFS='|' read -r _ name _ _ _ mb <<<"$p"; ln -sf "$MB/$mb" "$BIN/$name"; done
            for b in "${BENCH[@]}"; do IFS='|' read -r _ prog _ _ _ mb _ <<<"$b"; ln -sf "$MB/$mb" "$BIN/$prog"; done
            note "- meson + ninja in $MB: $((SECONDS - tb)) s"
        else
            note "- ninja failed (logs/build.log): plain cc instead"
            MODE=cc
        fi
    fi
fi
if [ "$MODE" = cc ]; then
    jobs_max=$(nproc 2>/dev/null || echo 2)
    build_cc clvmap-info tools/clvmap_info.c "" "" &
    for p in "${PLAN[@]}"; do
        IFS='|' read -r _ name src incs libs _ <<<"$p"
        while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
        build_cc "$name" "$src" "$incs" "$libs" &
    done
    for b in $(printf '%s\n' "${BENCH[@]}" | cut -d'|' -f2-5 | sort -u); do
        IFS='|' read -r prog src incs libs <<<"$b"
        while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
        build_cc "$prog" "$src" "$incs" "$libs" &
    done
    wait
    note "- plain cc ($CC -std=c99 -O2, $jobs_max at a time): $((SECONDS - tb)) s"
fi
for f in "$OUTDIR"/logs/build_*.log; do
    [ -f "$f" ] || continue
    n=$(basename "$f" .log); n=${n#build_}
    [ -x "$BIN/$n" ] || { note "- **$n did not build** (logs/$(basename "$f")):"; tail -n 15 "$f" | fence; FAILED=1; }
done

# ------------------------------------------------------------------ 4. devices, tests
note
note "## Devices (clvmap-info)"
note
if [ -x "$BIN/clvmap-info" ]; then
    timeout -k 5 60 "$BIN/clvmap-info" >"$OUTDIR/logs/clvmap-info.log" 2>&1
    rc=$?
    fence <"$OUTDIR/logs/clvmap-info.log"
    if [ $rc -ne 0 ]; then
        write_report
        give_up "clvmap-info exited $rc: the ICD loader sees no usable device with OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
    fi
fi

note
note "## Tests (CLV_TEST_SMALL=1, ${TEST_TIMEOUT} s each at most)"
note
note "| suite | test | result | s |"
note "|---|---|---|---|"
export CLV_TEST_SMALL=1 CLV_SOURCE_ROOT=$REPO
passed=0 failed=0 skipped=0 notrun=0
: >"$WORK/failures.md"
for p in "${PLAN[@]}"; do
    IFS='|' read -r suite name _ <<<"$p"
    log=$OUTDIR/logs/$name.log
    if [ ! -x "$BIN/$name" ]; then
        note "| $suite | $name | not built | – |"; notrun=$((notrun + 1)); continue
    fi
    lim=$(( $(left) - 120 < TEST_TIMEOUT ? $(left) - 120 : TEST_TIMEOUT ))  # 2 minutes kept for the benchmarks
    [ "$lim" -lt 30 ] && { note "| $suite | $name | not run: time budget | – |"; notrun=$((notrun + 1)); continue; }
    ts=$SECONDS
    (cd "$WORK" && timeout -k 5 "$lim" "$BIN/$name") >"$log" 2>&1 </dev/null
    rc=$? dt=$((SECONDS - ts))
    case $rc in
        0) res="passed"; c=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
           [ -n "$c" ] && res="passed ($c)"; passed=$((passed + 1)) ;;
        77) res="skipped: $(grep -m1 '^skip:' "$log" | cut -c7- | cut -c1-160 | tr '|' '/')"; skipped=$((skipped + 1)) ;;
        124|137) res="**failed: over ${lim} s**"; failed=$((failed + 1)) ;;
        *) res="**failed (exit $rc)**"; failed=$((failed + 1)) ;;
    esac
    note "| $suite | $name | $res | $dt |"
    case $rc in 0|77) ;; *) { echo; echo "### $name (exit $rc; logs/$name.log)"; echo '```'; grep -E '^FAIL' "$log" | head -n 10; tail -n 15 "$log"; echo '```'; } >>"$WORK/failures.md" ;; esac
done
note
note "Tests: $passed passed, $failed failed, $skipped skipped, $notrun not run."
[ $failed -gt 0 ] && { FAILED=1; note; note "## Failures"; cat "$WORK/failures.md" >>"$SECTIONS"; }

# ------------------------------------------------------------------ 5. benchmarks
note
note "## Benchmarks (reduced sizes; one device)"
note
for b in "${BENCH[@]}"; do
    IFS='|' read -r name prog _ _ _ _ args <<<"$b"
    log=$OUTDIR/logs/bench_$name.log
    [ -x "$BIN/$prog" ] || { note "- $name: not built"; continue; }
    l=$(left)
    [ "$l" -lt 20 ] && { note "- $name: not run (time budget: $l s left)"; continue; }
    lim=$((l - 10 < 180 ? l - 10 : 180))
    ts=$SECONDS
    # shellcheck disable=SC2086
    (cd "$WORK" && timeout -k 5 "$lim" "$BIN/$prog" $args) >"$log" 2>&1 </dev/null
    rc=$? dt=$((SECONDS - ts))
    note "### $name ($args): exit $rc, $dt s"
    [ $rc -ne 0 ] && FAILED=1
    tail -n 25 "$log" | fence
done

note
note "Total: $((SECONDS - T0)) s of a ${BUDGET} s budget."
write_report
echo "report: $REPORT"
exit $FAILED
