#!/usr/bin/env bash
# Installs promtool, Prometheus' rule checker, for the alert rule tests: from Debian's
# prometheus package where it is missing. The package would also run a Prometheus
# server; it is stopped, as the tests need only the tool.
set -euo pipefail
if command -v promtool >/dev/null; then
	exit 0
fi
echo "promtool: installing Debian's prometheus package for its promtool"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
service prometheus stop >/dev/null 2>&1 || true
command -v promtool >/dev/null
