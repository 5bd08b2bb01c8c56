# .ci/fuzz.sh — phase fuzz of .ci/run (sourced by it, not run alone: it
# uses .ci/run's record, phase_begin/_end, remaining, is_built, ROOT,
# B_FUZZ and FUZZ_SECONDS). Builds tests/fuzz's libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) in their own build directory and
# fuzzes each for FUZZ_SECONDS from a copy of its seed corpus.
# shellcheck shell=bash

# fuzz_stat LOG KEY: a number from libFuzzer's -print_final_stats=1 block.
fuzz_stat() { sed -n -E "s/^stat::$2: *([0-9]+).*/\1/p" "$1" | tail -n 1; }

# fuzz_run NAME EXE: fuzz one target from a copy of its seed corpus.
fuzz_run() {
    local name=$1 exe=$2 short=${1#fuzz_} t0=$SECONDS limit rc why=""
    local work=$ROOT/$B_FUZZ/fuzz-run/$name
    limit=$(( $(remaining) - 120 ))
    if [ "$limit" -lt 10 ]; then
        record fuzz "$name" fail "not run: CI time budget used up"
        return
    fi
    [ "$limit" -gt "$FUZZ_SECONDS" ] && limit=$FUZZ_SECONDS
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    # a copy: libFuzzer adds what it finds to the corpus directory it is given
    [ -d "tests/fuzz/corpus/$short" ] && cp -R "tests/fuzz/corpus/$short/." "$work/corpus/"
    # fuzz_opts builds OpenCL programs: on a PoCL kernel-cache miss PoCL's
    # compiler leaks (tests/lsan.supp), and only the slow unwinder records
    # stacks those suppressions match (see phase 2). It costs fuzz_opts about
    # half its speed; the host-only targets keep the fast one.
    local asan=detect_leaks=1:allocator_may_return_null=1
    [ "$name" = fuzz_opts ] && asan=$asan:fast_unwind_on_malloc=0
    (
        cd "$work" || exit 2
        timeout -k 30 $((limit + 300)) env POCL_DEVICES="pthread pthread" \
            ASAN_OPTIONS="$asan" \
            LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            "$exe" -max_total_time="$limit" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
            -artifact_prefix="$work/artifacts/" corpus >fuzz.log 2>&1
    )
    rc=$?
    local runs eps found
    runs=$(fuzz_stat "$work/fuzz.log" number_of_executed_units)
    eps=$(fuzz_stat "$work/fuzz.log" average_exec_per_sec)
    found=$(find "$work/artifacts" -type f | head -n 1)
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        why="hung: killed after $((limit + 300)) s"
    elif [ $rc -ne 0 ] || [ -n "$found" ]; then
        why="exit $rc${found:+, reproducer $found}"
    fi
    if [ -z "$why" ]; then
        record fuzz "$name" pass "${runs:-?} runs in $(elapsed "$t0") s, ${eps:-?} exec/s, corpus $(ls "$work/corpus" | wc -l) inputs"
    else
        record fuzz "$name" fail "$why; ${runs:-?} runs"
        echo "  ---- $name: the report (all in $work/fuzz.log)"
        grep -v -E '^#[0-9]+|^INFO:|^"|^ *$' "$work/fuzz.log" | head -n 60 | sed 's/^/  | /'
    fi
}

phase_fuzz() {
    phase_begin "phase fuzz: libFuzzer + ASan + UBSan, clang ($B_FUZZ, ${FUZZ_SECONDS} s per target)"
    if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
            clang -fsanitize=fuzzer,address,undefined -x c - -o /tmp/clvmap-ci-fuzz-probe.$$ \
            2>/tmp/clvmap-ci-fuzz-probe.$$.err; then
        cat /tmp/clvmap-ci-fuzz-probe.$$.err
        record fuzz "clang -fsanitize=fuzzer,address,undefined" fail "no clang or no libFuzzer runtime"
        rm -f /tmp/clvmap-ci-fuzz-probe.$$*
        phase_end "phase fuzz (libFuzzer)"
        return
    fi
    rm -f /tmp/clvmap-ci-fuzz-probe.$$*
    local setup=(setup "$B_FUZZ" -Db_sanitize=address,undefined -Db_lundef=false
                 -Dc_args=-fno-omit-frame-pointer -Dcpp_args=-fno-omit-frame-pointer)
    [ -f "$B_FUZZ/meson-private/coredata.dat" ] && setup+=(--reconfigure)
    mkdir -p "$B_FUZZ"
    if ! env CC=clang CXX=clang++ meson "${setup[@]}" >"$B_FUZZ/ci-setup.log" 2>&1; then
        tail -n 30 "$B_FUZZ/ci-setup.log"
        record fuzz "meson setup $B_FUZZ" fail "see $B_FUZZ/ci-setup.log"
        phase_end "phase fuzz (libFuzzer)"
        return
    fi
    grep -E 'libFuzzer' "$B_FUZZ/ci-setup.log" | sed 's/^/  /'
    local src name targets=()
    for src in tests/fuzz/fuzz_*.c; do
        [ -f "$src" ] && targets+=("$(basename "$src" .c)")
    done
    if [ ${#targets[@]} -eq 0 ]; then
        record fuzz "targets" skip "no tests/fuzz/fuzz_*.c in this checkout"
        phase_end "phase fuzz (libFuzzer)"
        return
    fi
    ninja -C "$B_FUZZ" -k 0 "${targets[@]/#/tests/fuzz/}" >"$B_FUZZ/ci-build.log" 2>&1 ||
        grep -E -A12 '^FAILED:' "$B_FUZZ/ci-build.log" | head -n 60
    for name in "${targets[@]}"; do
        local exe=$ROOT/$B_FUZZ/tests/fuzz/$name
        if ! is_built "$B_FUZZ" "$exe" "$B_FUZZ/ci-build.log"; then
            record fuzz "$name" fail "not built (see $B_FUZZ/ci-build.log)"
        elif ! grep -q -a -- max_total_time "$exe"; then
            record fuzz "$name" fail "built without libFuzzer (see tests/fuzz/meson.build's probe)"
        else
            fuzz_run "$name" "$exe"
        fi
    done
    phase_end "phase fuzz (libFuzzer)"
}

