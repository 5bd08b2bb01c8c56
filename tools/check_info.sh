#!/bin/sh
# check_info.sh CLVMAP_INFO — the test of clvmap-info (tools/meson.build):
# --help exits 0 with a usage line; a run lists "N device(s)" and then one
# block per device ("device I: ..."), each with its selectors, memory, fp64,
# local memory, work-group multiple and a throughput. (clvmap-info checks
# itself that each selector it prints opens exactly that device.)
set -u
info=${1:?usage: check_info.sh CLVMAP_INFO}
fail() { echo "FAIL: $*"; exit 1; }

help=$("$info" --help) || fail "--help exited $?"
echo "$help" | grep -q '^usage: clvmap-info' || fail "--help printed no usage line"
"$info" --no-such-option >/dev/null 2>&1 && fail "an unknown option was accepted"

out=$("$info" --items 65536) || { echo "$out"; fail "clvmap-info exited $?"; }
echo "$out"
n=$(echo "$out" | sed -n '1s/^\([0-9][0-9]*\) device(s).*/\1/p')
[ -n "$n" ] || fail "the first line does not say how many devices"
[ "$n" -ge 1 ] || fail "no device"
blocks=$(echo "$out" | grep -c '^device [0-9][0-9]*: ')
[ "$blocks" -eq "$n" ] || fail "$blocks device blocks for $n device(s)"
for field in 'platform' 'select with     CLV_DEVICES=' 'global memory' 'max allocation' 'local memory' \
             'fp64' 'work-group multiple  [0-9]' 'throughput      [0-9]'; do
    k=$(echo "$out" | grep -c "^  $field")
    [ "$k" -eq "$n" ] || fail "\"$field\" in $k of $n blocks"
done
i=0
while [ $i -lt "$n" ]; do
    echo "$out" | grep -q "^device $i: " || fail "no block for device $i"
    i=$((i + 1))
done
# with POCL_DEVICES="pthread pthread" (the test's environment): two devices
# (on PoCL only: another runtime ignores POCL_DEVICES)
if [ "${POCL_DEVICES:-}" = "pthread pthread" ] && echo "$out" | grep -q 'Portable Computing Language' &&
   [ "$n" -lt 2 ]; then
    fail "POCL_DEVICES=\"pthread pthread\" should give at least 2 devices, got $n"
fi
echo "ok: $n device block(s)"
