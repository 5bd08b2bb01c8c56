#!/bin/sh
# check_gpu_check.sh GPU_CHECK_SH WORKDIR — the test of tools/gpu_check.sh
# (tools/meson.build; no GPU needed):
#  1. --dry-run finds a libnvidia-opencl.so.1 in a folder given by
#     GPU_CHECK_NVIDIA_DIRS (a stand-in file here), writes an .icd naming
#     its full path and a report with the plan;
#  2. GPU_CHECK_ICD naming no file stops with exit 2 and says why;
#  3. --quick with GPU_CHECK_ICD = the first .icd the ICD loader would use
#     (OCL_ICD_VENDORS, else /etc/OpenCL/vendors) builds with plain cc, runs
#     one test and one benchmark and reports both (skipped, saying why, when
#     there is no .icd); where --pack can copy this machine's ICD loader and
#     headers, the quick run uses those carried copies.
set -u
script=${1:?usage: check_gpu_check.sh GPU_CHECK_SH WORKDIR}
work=${2:?usage: check_gpu_check.sh GPU_CHECK_SH WORKDIR}
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work/fake-nvidia" || fail "cannot make $work"
unset OUT GPU_CHECK_ICD GPU_CHECK_BUILD

# 1. the lookup (a machine with NVIDIA's driver may find its own first)
: >"$work/fake-nvidia/libnvidia-opencl.so.1"
GPU_CHECK_WORK=$work/dry/work GPU_CHECK_NVIDIA_DIRS=$work/fake-nvidia bash "$script" --dry-run --out "$work/dry" || fail "--dry-run exited $?"
icd=$work/dry/work/vendors/nvidia.icd
[ -f "$icd" ] || fail "no $icd"
lib=$(cat "$icd")
[ -f "$lib" ] || fail "$icd names $lib, which is not a file"
if ! ldconfig -p 2>/dev/null | grep -q libnvidia-opencl; then
    [ "$lib" = "$work/fake-nvidia/libnvidia-opencl.so.1" ] || fail "$icd names $lib, not the stand-in"
fi
report=$work/dry/gpu_check.md
grep -q "NVIDIA's OpenCL: \`$lib\`" "$report" || fail "the report does not name $lib"
grep -q '^- test core/rng' "$report" || fail "the dry run's plan lists no core/rng"
grep -q '^- benchmark gmm_f32_launch' "$report" || fail "the dry run's plan lists no GMM benchmark"

# 2. a bad GPU_CHECK_ICD
GPU_CHECK_WORK=$work/bad/work GPU_CHECK_ICD=$work/no-such.icd bash "$script" --dry-run --out "$work/bad" >/dev/null
rc=$?
[ $rc -eq 2 ] || fail "GPU_CHECK_ICD naming no file: exit $rc, wanted 2"
grep -q 'is not a file' "$work/bad/gpu_check.md" || fail "the report does not say GPU_CHECK_ICD is not a file"

# 3. the whole path on whatever runtime is here
first=
for f in "${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"/*.icd; do [ -f "$f" ] && { first=$f; break; }; done
if [ -z "$first" ]; then
    echo "skip: no .icd file in ${OCL_ICD_VENDORS:-/etc/OpenCL/vendors} for the --quick run (checks 1-2 passed)"
    exit 77
fi
# the carried loader and headers where this machine has them to pack
carry=
if bash "$script" --pack "$work/carry" >/dev/null 2>&1; then carry=1; fi
GPU_CHECK_WORK=$work/quick/work GPU_CHECK_ICD=$first GPU_CHECK_BUILD=cc GPU_CHECK_CARRY=$work/carry GPU_CHECK_PREFER_CARRY=$carry \
    bash "$script" --quick --out "$work/quick" || fail "--quick on $first exited $?"
report=$work/quick/gpu_check.md
if [ -n "$carry" ]; then
    grep -q "ICD loader: .$work/carry/lib/libOpenCL.so.1. (carried" "$report" || fail "the quick run did not use the carried loader"
    grep -q "OpenCL headers: .$work/carry/include. (carried" "$report" || fail "the quick run did not use the carried headers"
fi
grep -q '^| core | rng | passed' "$report" || fail "the quick run's report has no passed core/rng row"
grep -q '^### gmm_f32_launch .*: exit 0' "$report" || fail "the quick run's report has no GMM benchmark that exited 0"
grep -q 'checksum=' "$report" || fail "the quick run's report has no benchmark output"
grep -q '^device 0: ' "$report" || fail "the quick run's report lists no device"
echo "gpu_check.sh: dry run, bad input and a quick run on $first all as expected"
