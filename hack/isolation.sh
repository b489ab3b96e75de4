#!/usr/bin/env bash
# Isolation in the scale run: 1,000 diagnoses, healthy, then with 10 of them pointing a
# cluster at a listener that never answers; RUNS runs of each (default 3). Prints each
# run's lateness and the medians: the hanging runs' p99 against the healthy runs', and
# the healthy runs against each other (the noise floor). Lateness is read per diagnosis
# from the manager's log, so that the hanging diagnoses are left out of the others'
# figures. PIN=1 (with taskset and 3 or more CPUs) gives the manager the last CPU to
# itself and the rig (control planes, MariaDB, load generator) the others; on 2 CPUs
# the rig alone on one cannot keep up (lateness of tens of seconds), so it is off by
# default. Needs KUBEBUILDER_ASSETS
# and bin/manager (make bench-isolation does both). About 5 minutes a run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pin=() managerpin=()
cpus=$(nproc)
if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null && [ "$cpus" -ge 3 ]; then
	pin=(taskset -c "0-$((cpus - 2))") managerpin=(--manager-cpus=$((cpus - 1)))
	echo "manager on CPU $((cpus - 1)), the rig on CPUs 0-$((cpus - 2))" >&2
fi
go build -o "$out/scale" ./hack/scale
for i in $(seq 1 "$runs"); do
	for hanging in 0 10; do
		echo "== run $i, $hanging hanging" >&2
		"${pin[@]}" "$out/scale" --diagnoses=1000 --hanging=$hanging "${managerpin[@]}" > "$out/$hanging-$i.txt"
		grep 'lateness p50' "$out/$hanging-$i.txt" >&2
	done
done
python3 - "$out" "$runs" <<'PY'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def secs(v):
    v = v.strip()
    if v.endswith("ms"): return float(v[:-2]) / 1000
    if v.endswith("µs"): return float(v[:-2]) / 1e6
    if v.endswith("s"): return float(v[:-1])
    raise ValueError(v)
rows = {}
for hanging in (0, 10):
    for i in range(1, runs + 1):
        text = open(f"{out}/{hanging}-{i}.txt").read()
        m = re.search(r"others' lateness p50 / p99 \(hanging left out, \d+ evaluations\) \| (\S+) / (\S+) \|", text)
        rows.setdefault(hanging, []).append((secs(m.group(1)), secs(m.group(2))))
print("| run | others' lateness p50 | others' lateness p99 |\n|---|---|---|")
for hanging, rs in rows.items():
    for i, (p50, p99) in enumerate(rs, 1):
        print(f"| {'healthy' if hanging == 0 else '10 hanging'} #{i} | {p50:.2f} s | {p99:.2f} s |")
h = statistics.median(p99 for _, p99 in rows[0])
x = statistics.median(p99 for _, p99 in rows[10])
print(f"\nmedian p99: healthy {h:.2f} s, 10 hanging {x:.2f} s: {100*(x/h-1):+.1f}% (target within 10%)")
hs = sorted(p99 for _, p99 in rows[0])
print(f"noise floor, healthy against healthy: p99 from {hs[0]:.2f} s to {hs[-1]:.2f} s ({100*(hs[-1]/hs[0]-1):.1f}% apart)")
PY
