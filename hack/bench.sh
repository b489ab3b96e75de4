#!/usr/bin/env bash
# Runs the benchmarks and prints a table. Needs KUBEBUILDER_ASSETS and bin/manager (make
# bench sets the one and builds the other).
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

# The platform's database at a large installation's size: 100,000 pre-created
# instances, 5,000 plans, 20,000 apps with 40,000 bound environments (issue 11), and
# the workloads database's clusters, apps and configs at the same size.
echo
go test -tags integration -run '^$' -bench 'BenchmarkRead(Pools|AppClusters)AtScale$' -benchtime "${BENCH_POOL_READS:-10}x" -count 1 -v ./internal/platformdb/ |
	grep -E '^(Benchmark|    scale_bench_test)' | sed 's/^    scale_bench_test.go:[0-9]*: /    /'

# The whole controller at the platform's size (issue 12): bin/manager (make bench builds
# it) against envtest's control plane and MariaDB, one diagnosis of 5,000 plans across
# 500 tenants, 500 app clusters of 2 API servers (490 refused at once), 20,000 apps.
# Checks the verdict and the bounded status; prints the status size, one evaluation's
# wall time and the manager's peak RSS. About 2 minutes. Not run by .ci/run.
echo
go run ./hack/largeinstall
