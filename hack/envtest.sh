#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) and kubectl from Go
# modules, because release downloads (setup-envtest) cannot be reached from here.
#
#   hack/envtest.sh dir     print the directory holding the binaries (KUBEBUILDER_ASSETS)
#   hack/envtest.sh build   build them unless that directory already has them
#
# The pins are hack/envtest/kube-apiserver/go.mod (k8s.io/kubernetes, with every staging
# module replaced by its published v0.x twin) and hack/envtest/etcd/go.mod. The
# directory is named after a hash of those files and of this script, so changing a pin
# or a build flag rebuilds. Built
# binaries are also kept in a machine-wide cache ($PAASDIAG_CACHE, default
# ~/.cache/paasdiag) so that a fresh clone on the same machine does not rebuild.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pins=(hack/envtest/kube-apiserver/go.mod hack/envtest/kube-apiserver/go.sum
	hack/envtest/etcd/go.mod hack/envtest/etcd/go.sum hack/envtest.sh)
hash=$(cd "$root" && cat "${pins[@]}" | sha256sum | cut -c1-12)
kube=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$root/hack/envtest/kube-apiserver/go.mod")
dir="$root/bin/k8s/$kube-$hash"
cache="${PAASDIAG_CACHE:-$HOME/.cache/paasdiag}/envtest/$kube-$hash"

complete() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ] && [ -x "$1/kubectl" ]; }

case "${1:-}" in
dir)
	echo "$dir"
	;;
build)
	if complete "$dir"; then
		exit 0
	fi
	mkdir -p "$dir"
	if complete "$cache"; then
		cp "$cache/kube-apiserver" "$cache/etcd" "$cache/kubectl" "$dir/"
		echo "envtest: copied kube-apiserver, etcd and kubectl from $cache"
		exit 0
	fi
	start=$(date +%s)
	echo "envtest: building etcd (about 2 minutes the first time)"
	(cd "$root/hack/envtest/etcd" && go build -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
	echo "envtest: building kube-apiserver $kube (about 10 minutes on 2 cores the first time)"
	# Stamp the version, as the release build does, so /version reports it.
	minor=$(echo "$kube" | cut -d. -f2)
	ldflags="-X k8s.io/component-base/version.gitVersion=$kube -X k8s.io/component-base/version.gitMajor=1"
	ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
	(cd "$root/hack/envtest/kube-apiserver" && go build -ldflags "$ldflags" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	echo "envtest: building kubectl $kube (a few minutes the first time)"
	(cd "$root/hack/envtest/kube-apiserver" && go build -ldflags "$ldflags" -o "$dir/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
	mv "$dir/etcd.tmp" "$dir/etcd"
	mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
	mv "$dir/kubectl.tmp" "$dir/kubectl"
	mkdir -p "$cache" && cp "$dir/kube-apiserver" "$dir/etcd" "$dir/kubectl" "$cache/" || true
	echo "envtest: built in $(($(date +%s) - start))s into $dir"
	;;
*)
	echo "usage: $0 dir|build" >&2
	exit 2
	;;
esac
