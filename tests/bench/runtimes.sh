# runtimes.sh — sourced by the benchmark scripts (tests/bench/*.sh): which
# OpenCL runtimes a benchmark runs clvmap on, and how to run a command on one.
#
#   RUNTIMES="pocl intel"   the runtimes, in the order their runs interleave
#                           (default: pocl, plus intel when its ICD folder exists)
#   INTEL_VENDORS=DIR       a folder holding an .icd file that names Intel's
#                           libintelocl.so (default build-intel/vendors, which
#                           `bash .ci/intel.sh` makes; any folder will do)
#
# pocl runs with the system's ICDs (OCL_ICD_VENDORS unset), intel with
# OCL_ICD_VENDORS=$INTEL_VENDORS, so each process sees one runtime and
# device "0" is that runtime's CPU. POCL_DEVICES applies to PoCL only.
INTEL_VENDORS=${INTEL_VENDORS:-${ROOT:-.}/build-intel/vendors}
if [ -z "${RUNTIMES:-}" ]; then
    RUNTIMES=pocl
    if [ -d "$INTEL_VENDORS" ]; then RUNTIMES="pocl intel"; fi
fi

# rt_run NAME COMMAND...: COMMAND on runtime NAME.
rt_run() {
    _rt=$1
    shift
    case $_rt in
    pocl) env -u OCL_ICD_VENDORS "$@" ;;
    intel)
        if [ ! -d "$INTEL_VENDORS" ]; then
            echo "runtimes.sh: INTEL_VENDORS=$INTEL_VENDORS is not a folder (run .ci/intel.sh or set it)" >&2
            return 2
        fi
        env -u POCL_DEVICES OCL_ICD_VENDORS="$INTEL_VENDORS" "$@" ;;
    *) echo "runtimes.sh: unknown runtime '$_rt' (pocl or intel)" >&2; return 2 ;;
    esac
}

# rt_tag NAME: a filter that adds " runtime=NAME" to the end of each
# key=value line, so that one raw file holds every runtime's lines.
rt_tag() {
    sed -u "s/\$/ runtime=$1/"
}

# bench_limits FILE: the machine's limits (tests/bench/machine_limits.c) for
# the host and each runtime, appended to FILE; the scripts compute their
# percentages from it. Needs $LIMITS_BIN (built by the caller).
bench_limits() {
    "$LIMITS_BIN" --host ${QUICK:+--quick} >> "$1"
    for _r in $RUNTIMES; do
        rt_run "$_r" "$LIMITS_BIN" --opencl --runtime "$_r" ${QUICK:+--quick} >> "$1" 2>/dev/null ||
            echo "machine_limits failed on runtime $_r" >&2
    done
}
