#!/usr/bin/env bash
# og_coverage.sh — did suite `oclgrind` run every kernel the project ships?
# The last test of the suite (tests/oclgrind/meson.build runs it after the
# others).
#
#   og_coverage.sh SOURCE_ROOT RUNS_DIR [--absent NAME:REASON]... -- NAME...
#
# Shipped kernels: every `__kernel void NAME(` in kernels/*.cl (the core's
# prelude has none; the add-ons' kernels), and in examples/*.c and
# examples/*.h (the examples' own kernels, in C strings). NAME... are the
# programs of the suite: og_test.sh wrote the kernels oclgrind ran for each
# to RUNS_DIR/NAME/kernels.txt. Fails when
#   - a shipped kernel is in none of those lists;
#   - an example (examples/*.c with a main()) is not among NAME... (a new
#     example must get its test in tests/oclgrind/meson.build);
#   - a program of the suite has no kernels.txt (it has not run in this
#     build directory: run the whole suite, `meson test --setup oclgrind
#     --suite oclgrind`).
# --absent NAME:REASON: an example that this build does not build (e.g.
# lbfgs_survey without CLBlast); its kernels are left out, with the reason.
# Exit status 77 (skip) when oclgrind is not installed: nothing ran.
set -uo pipefail
export LC_ALL=C

if [ $# -lt 3 ]; then
    echo "usage: og_coverage.sh SOURCE_ROOT RUNS_DIR [--absent NAME:REASON]... -- NAME..." >&2
    exit 2
fi
root=$1 runs=$2
shift 2
absent=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case "$1" in
        --absent) absent+=("$2"); shift 2 ;;
        *) echo "og_coverage.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "${1:-}" = "--" ] && shift
programs=("$@")

if ! command -v oclgrind >/dev/null 2>&1; then
    echo "SKIP: oclgrind is not installed, no program ran under it"
    exit 77
fi

fail=0
is_absent() {
    local a
    for a in "${absent[@]+"${absent[@]}"}"; do
        [ "${a%%:*}" = "$1" ] && return 0
    done
    return 1
}

# kernels FILE...: the names of the __kernel functions defined in FILEs.
kernels() {
    grep -h -o -E '__kernel[[:space:]]+void[[:space:]]+[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(' "$@" 2>/dev/null |
        sed -E 's/__kernel[[:space:]]+void[[:space:]]+//; s/[[:space:]]*\($//' | sort -u
}

# Every example is a program of the suite, or declared absent.
for src in "$root"/examples/*.c; do
    [ -f "$src" ] || continue
    grep -q -E '^int main *\(' "$src" || continue
    name=$(basename "$src" .c)
    if is_absent "$name"; then
        continue
    fi
    found=0
    for p in "${programs[@]}"; do [ "$p" = "$name" ] && found=1; done
    if [ $found -eq 0 ]; then
        echo "FAIL: examples/$name.c has no test in suite oclgrind (add it to tests/oclgrind/meson.build)"
        fail=1
    fi
done

# What ran, per program.
declare -A ran_by=()
for p in "${programs[@]}"; do
    list=$runs/$p/kernels.txt
    if [ ! -f "$list" ]; then
        echo "FAIL: $p has not run under oclgrind in this build directory (no $list);" \
             "run the whole suite: meson test --setup oclgrind --suite oclgrind"
        fail=1
        continue
    fi
    while read -r k; do
        [ -n "$k" ] && ran_by[$k]="${ran_by[$k]:-}${ran_by[$k]:+ }$p"
    done <"$list"
done

# The shipped kernels, each run by some program.
printf '%-28s %-24s %s\n' "kernel" "from" "run under oclgrind by"
n=0 missing=0
check() {   # check ORIGIN FILE...
    local origin=$1 k; shift
    while read -r k; do
        [ -n "$k" ] || continue
        n=$((n + 1))
        if [ -n "${ran_by[$k]:-}" ]; then
            printf '%-28s %-24s %s\n' "$k" "$origin" "${ran_by[$k]}"
        else
            printf '%-28s %-24s %s\n' "$k" "$origin" "NEVER"
            missing=$((missing + 1))
        fi
    done < <(kernels "$@")
}
for cl in "$root"/kernels/*.cl; do
    [ -f "$cl" ] && check "kernels/$(basename "$cl")" "$cl"
done
for src in "$root"/examples/*.c "$root"/examples/*.h; do
    [ -f "$src" ] || continue
    name=$(basename "$src"); name=${name%.*}
    if is_absent "$name"; then
        for a in "${absent[@]}"; do
            [ "${a%%:*}" = "$name" ] && echo "(examples/$(basename "$src") left out: ${a#*:})"
        done
        continue
    fi
    check "examples/$(basename "$src")" "$src"
done

if [ $missing -gt 0 ]; then
    echo "FAIL: $missing of $n shipped kernels never ran under oclgrind"
    fail=1
fi
[ $fail -eq 0 ] && echo "PASS: all $n shipped kernels ran under oclgrind (${#programs[@]} programs)"
exit $fail
