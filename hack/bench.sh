#!/usr/bin/env bash
# Runs the benchmarks and prints a table. Needs KUBEBUILDER_ASSETS (make bench sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -tags integration -run '^$' -bench 'BenchmarkProbe$|BenchmarkBareClient$' -benchmem -count "${BENCH_COUNT:-5}" ./internal/clusterprobe/)
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)'
echo
echo "$out" | awk '
	/^BenchmarkProbe-/      { p += $3; pn++ }
	/^BenchmarkBareClient-/ { c += $3; cn++ }
	END {
		printf "| benchmark | mean ns/op | ratio to the floor | target |\n|---|---|---|---|\n"
		printf "| probe of one API server (4 requests, fresh TLS) | %.0f | %.2f | <= 1.30 |\n", p/pn, (p/pn)/(c/cn)
		printf "| bare Go HTTP client, same requests (the floor) | %.0f | 1.00 | |\n", c/cn
	}'
