#!/bin/sh
# check_png.sh DIR NAME:WIDTHxHEIGHT ... -- COMMAND ARGS...
# Runs the command (an example with --png DIR or --out DIR), then checks
# that each DIR/NAME exists, starts with the PNG signature and has the
# width and height its IHDR chunk says. No pixels are compared.
dir=$1; shift
specs=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do specs="$specs $1"; shift; done
[ "$1" = "--" ] || { echo "check_png.sh: no -- before the command"; exit 2; }
shift
mkdir -p "$dir" || exit 1
for spec in $specs; do rm -f "$dir/${spec%%:*}"; done
"$@" || { echo "check_png.sh: the command failed (exit $?): $*"; exit 1; }
fail=0
for spec in $specs; do
    name=${spec%%:*}; size=${spec#*:}; want_w=${size%x*}; want_h=${size#*x}
    f=$dir/$name
    if [ ! -s "$f" ]; then echo "FAIL $f: missing or empty"; fail=1; continue; fi
    # bytes 0-7: the signature; 12-15: "IHDR"; 16-19, 20-23: width, height (big-endian)
    bytes=$(od -An -v -tu1 -N24 "$f" | tr -s ' \n' '  ')
    set -- $bytes
    sig="$1 $2 $3 $4 $5 $6 $7 $8"
    if [ "$sig" != "137 80 78 71 13 10 26 10" ]; then echo "FAIL $f: no PNG signature ($sig)"; fail=1; continue; fi
    if [ "${13} ${14} ${15} ${16}" != "73 72 68 82" ]; then echo "FAIL $f: no IHDR chunk first"; fail=1; continue; fi
    w=$(( (${17} << 24) | (${18} << 16) | (${19} << 8) | ${20} ))
    h=$(( (${21} << 24) | (${22} << 16) | (${23} << 8) | ${24} ))
    if [ "$w" != "$want_w" ] || [ "$h" != "$want_h" ]; then
        echo "FAIL $f: ${w}x${h}, expected ${want_w}x${want_h}"; fail=1; continue
    fi
    echo "ok   $f: PNG ${w}x${h}"
done
exit $fail
