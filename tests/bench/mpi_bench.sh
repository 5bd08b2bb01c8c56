#!/usr/bin/env bash
# mpi_bench.sh [MPI_BENCH] [-- mpi_bench options] — scaling of a compute-bound
# map over MPI ranks (tests/bench/mpi_bench.c), one single-core PoCL device
# per rank:
#
#   POCL_DEVICES=pthread POCL_CPU_MAX_CU_COUNT=1   one device, one worker thread
#   mpirun -np K --bind-to core (K <= cores), --oversubscribe --bind-to none above
#
# for K = 1, 2, 3, then the speed-ups T1/TK of the median totals and the
# scaling model of README.md (Several machines (MPI), Scaling model):
#   T(K) = t_item * N / min(K, cores) * K / K_eff + gather(K)
# in its simple form T(K) = T_compute(1) / min(K, cores) + gather(K), with
# the 1-rank compute time and each run's measured gather. Also prints the
# load average before and after: other work on the machine slows the ranks.
# MPI_BENCH_NICE=-15 (root) runs the ranks at that niceness, in a session of
# their own whose scheduler autogroup gets the same niceness (with
# kernel.sched_autogroup_enabled=1, nice alone only ranks threads within one
# session), so that on a machine shared with other jobs each rank gets the
# core it is bound to.
#
#   bash tests/bench/mpi_bench.sh build-h2/tests/mpi/mpi_bench -- --items 16384 --work 2000 --repeats 5
set -u
BENCH=${1:-build/tests/mpi/mpi_bench}
shift || true
[ "${1:-}" = "--" ] && shift
ARGS=("$@")
[ ${#ARGS[@]} -eq 0 ] && ARGS=(--items 16384 --work 2000 --repeats 5)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export POCL_DEVICES=pthread POCL_CPU_MAX_CU_COUNT=1
unset CLV_DEVICES
CORES=$(nproc)
echo "mpi_bench: $CORES cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)${MPI_BENCH_NICE:+; ranks at nice $MPI_BENCH_NICE}"
declare -A TOTAL BEST COMPUTE GATHER CHECK CPU
for K in 1 2 3; do
    if [ "$K" -le "$CORES" ]; then bind=(--bind-to core); else bind=(--oversubscribe --bind-to none); fi
    echo "== $K rank(s): mpirun -np $K ${bind[*]} $BENCH ${ARGS[*]}"
    run=(mpirun -np "$K" "${bind[@]}" -x POCL_DEVICES -x POCL_CPU_MAX_CU_COUNT "$BENCH" "${ARGS[@]}")
    if [ -n "${MPI_BENCH_NICE:-}" ]; then
        out=$(setsid bash -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' \
              "$MPI_BENCH_NICE" "${run[@]}" 2>&1)
    else
        out=$("${run[@]}" 2>&1)
    fi
    echo "$out"
    TOTAL[$K]=$(awk '/^total_s/ {print $3}' <<<"$out")
    BEST[$K]=$(awk '/^total_s/ {print $5}' <<<"$out")
    CPU[$K]=$(awk '/^cpu_s/ {print $3}' <<<"$out")
    COMPUTE[$K]=$(awk '/^compute_s/ {print $3}' <<<"$out")
    GATHER[$K]=$(awk '/^gather_s/ {print $3}' <<<"$out")
    CHECK[$K]=$(awk '/^checksum/ {print $2}' <<<"$out")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "ranks  total_s (median, best)  speed-up (median, best)  busiest rank cpu_s  model_s  checksum"
for K in 1 2 3; do
    [ -n "${TOTAL[$K]}" ] || { echo "$K      (failed)"; continue; }
    awk -v k="$K" -v c="$CORES" -v t="${TOTAL[$K]}" -v b="${BEST[$K]}" -v t1="${TOTAL[1]}" -v b1="${BEST[1]}" \
        -v c1="${COMPUTE[1]}" -v g="${GATHER[$K]}" -v cpu="${CPU[$K]}" -v sum="${CHECK[$K]}" 'BEGIN {
        p = k < c ? k : c
        printf "%-6d %8.3f %8.3f        %6.2f %6.2f              %8.3f            %7.3f  %s\n",
               k, t, b, t1 / t, b1 / b, cpu, c1 / p + g, sum
    }'
done
