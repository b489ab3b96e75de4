#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) and kubectl from Go
# modules, because release downloads (setup-envtest) cannot be reached from here.
#
#   hack/envtest.sh dir [compat]     print the directory holding the binaries (KUBEBUILDER_ASSETS)
#   hack/envtest.sh build [compat]   build them unless that directory already has them
#
# Without an argument: the current control plane, pinned by
# hack/envtest/kube-apiserver/go.mod (k8s.io/kubernetes, with every staging module
# replaced by its published v0.x twin) and hack/envtest/etcd/go.mod.
#
# compat: kube-apiserver and kubectl at the oldest minor paasdiag supports
# (docs/compatibility.md), pinned by hack/envtest/kube-apiserver-compat/go.mod, with the
# current etcd. Their module does not ship the generated OpenAPI definitions, so the
# build copies k8s.io/kubernetes into a work directory in the cache, runs openapi-gen
# (pinned by hack/envtest/openapi-gen/go.mod) on every package that asks for it, as
# Kubernetes' own Makefile does, and builds there.
#
# The directory is named after a hash of the pins and of this script, so changing a
# pin or a build flag rebuilds. Built binaries are also kept in a machine-wide cache
# ($PAASDIAG_CACHE, default ~/.cache/paasdiag) so that a fresh clone on the same
# machine does not rebuild.
#
# With internet access the quick way works too: set KUBEBUILDER_ASSETS to a directory
# holding kube-apiserver, etcd and kubectl, such as `setup-envtest use 1.37.x -p path`
# prints, and nothing is built (KUBEBUILDER_ASSETS_COMPAT likewise for compat; the
# compatibility test insists on the pinned version). With setup-envtest on PATH, the
# current line uses its binaries of the pinned version when it can fetch them
# (PAASDIAG_NO_SETUP_ENVTEST=1 turns that off). CI unsets both variables and turns
# setup-envtest off: it tests the pinned build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
line=${2:-current}
case "$line" in
current)
	module=hack/envtest/kube-apiserver
	pins=(hack/envtest/kube-apiserver/go.mod hack/envtest/kube-apiserver/go.sum
		hack/envtest/etcd/go.mod hack/envtest/etcd/go.sum hack/envtest.sh)
	;;
compat)
	module=hack/envtest/kube-apiserver-compat
	pins=(hack/envtest/kube-apiserver-compat/go.mod hack/envtest/kube-apiserver-compat/go.sum
		hack/envtest/openapi-gen/go.mod hack/envtest/openapi-gen/go.sum
		hack/envtest/etcd/go.mod hack/envtest/etcd/go.sum hack/envtest.sh)
	;;
*)
	echo "usage: $0 dir|build [compat]" >&2
	exit 2
	;;
esac
hash=$(cd "$root" && cat "${pins[@]}" | sha256sum | cut -c1-12)
kube=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$root/$module/go.mod")
dir="$root/bin/k8s/$kube-$hash"
cache="${PAASDIAG_CACHE:-$HOME/.cache/paasdiag}/envtest/$kube-$hash"
minor=$(echo "$kube" | cut -d. -f2)
given=KUBEBUILDER_ASSETS
[ "$line" = compat ] && given=KUBEBUILDER_ASSETS_COMPAT
if [ -n "${!given:-}" ]; then
	dir=$(realpath -m "${!given}")
	echo "envtest: using $given=$dir as given, not the pinned $kube build" >&2
elif [ "$line" = current ] && [ -z "${PAASDIAG_NO_SETUP_ENVTEST:-}" ] && command -v setup-envtest >/dev/null 2>&1; then
	# setup-envtest's binaries of the pinned version, when it has them installed
	# (build downloads them first; offline, it falls back to building from modules).
	if [ "${1:-}" = build ]; then
		setup-envtest use "${kube#v}" -p path >/dev/null 2>&1 || true
	fi
	if fetched=$(setup-envtest use -i "${kube#v}" -p path 2>/dev/null) && [ -n "$fetched" ] && [ -x "$fetched/kube-apiserver" ]; then
		dir=$fetched
	fi
fi
# Stamp the version, as the release build does, so /version reports it (before 1.22
# the API server reads client-go's copy of the version variables).
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

# build_compat builds kube-apiserver and kubectl at the compatibility minor into $dir,
# and takes etcd from the current control plane.
build_compat() {
	# Outside the repository: tools that walk ./... (controller-gen) must not find it.
	local work="${PAASDIAG_CACHE:-$HOME/.cache/paasdiag}/src/$kube-$hash" src modcache
	rm -rf "$work" && mkdir -p "$work"
	cp "$root/$module/go.mod" "$root/$module/go.sum" "$root/$module/tools.go" "$work/"
	echo "envtest compat: copying k8s.io/kubernetes $kube"
	src=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$kube" | awk -F'"' '$2 == "Dir" {print $4}')
	cp -r "$src" "$work/kubernetes" && chmod -R u+w "$work/kubernetes"
	echo "envtest compat: building openapi-gen"
	(cd "$root/hack/envtest/openapi-gen" && go build -o "$work/openapi-gen" k8s.io/kube-openapi/cmd/openapi-gen)
	# The packages that ask for OpenAPI definitions (+k8s:openapi-gen=), in
	# k8s.io/kubernetes and in the staging modules it builds with, as Kubernetes'
	# Makefile.generated_files finds them; code-generator's and sample-apiserver's are
	# its other targets, and those of modules kube-apiserver does not link are not needed.
	(cd "$work" && go mod download)
	local dirs="$work/openapi-dirs.txt"
	(cd "$work/kubernetes" && grep -rl --include='*.go' '+k8s:openapi-gen=' . | xargs -n1 dirname | sed 's|^\.|k8s.io/kubernetes|') > "$dirs"
	for m in $(awk -v v="v0.${kube#v1.}" '$2 == "=>" && $3 == $1 && $4 == v {print $1}' "$work/go.mod"); do
		modcache=$(cd "$work" && go list -m -f '{{.Dir}}' "$m" 2>/dev/null || true)
		[ -n "$modcache" ] && [ -d "$modcache" ] || continue
		(cd "$modcache" && { grep -rl --include='*.go' '+k8s:openapi-gen=' . || true; } | xargs -rn1 dirname | sed "s|^\.|$m|") >> "$dirs"
	done
	grep -v 'code-generator\|sample-apiserver\|/testdata' "$dirs" | LC_ALL=C sort -u > "$dirs.sorted"
	echo "envtest compat: generating OpenAPI definitions for $(wc -l < "$dirs.sorted") packages"
	echo "// Code generated by openapi-gen. DO NOT EDIT." > "$work/boilerplate.txt"
	(cd "$work" && GO111MODULE=on ./openapi-gen -i "$(paste -sd, "$dirs.sorted")" \
		-p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi -h boilerplate.txt \
		-o "$work/openapi-out" -r "$work/openapi-violations.txt")
	cp "$work/openapi-out/k8s.io/kubernetes/pkg/generated/openapi/zz_generated.openapi.go" "$work/kubernetes/pkg/generated/openapi/"
	echo "envtest compat: building kube-apiserver $kube (about 7 minutes on 2 cores the first time)"
	(cd "$work" && go build -ldflags "$ldflags" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	echo "envtest compat: building kubectl $kube"
	(cd "$work" && go build -ldflags "$ldflags" -o "$dir/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
	"$0" build
	cp "$("$0" dir)/etcd" "$dir/etcd.tmp"
	rm -rf "$work"
}

complete() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ] && [ -x "$1/kubectl" ]; }

case "${1:-}" in
dir)
	echo "$dir"
	;;
build)
	if complete "$dir"; then
		exit 0
	fi
	if [ -n "${!given:-}" ]; then
		echo "envtest: $given=$dir lacks kube-apiserver, etcd or kubectl" >&2
		exit 1
	fi
	mkdir -p "$dir"
	if complete "$cache"; then
		cp "$cache/kube-apiserver" "$cache/etcd" "$cache/kubectl" "$dir/"
		echo "envtest: copied kube-apiserver, etcd and kubectl from $cache"
		exit 0
	fi
	start=$(date +%s)
	if [ "$line" = compat ]; then
		build_compat
	else
		echo "envtest: building etcd (about 2 minutes the first time)"
		(cd "$root/hack/envtest/etcd" && go build -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
		echo "envtest: building kube-apiserver $kube (about 10 minutes on 2 cores the first time)"
		(cd "$root/$module" && go build -ldflags "$ldflags" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
		echo "envtest: building kubectl $kube (a few minutes the first time)"
		(cd "$root/$module" && go build -ldflags "$ldflags" -o "$dir/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
	fi
	mv "$dir/etcd.tmp" "$dir/etcd"
	mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
	mv "$dir/kubectl.tmp" "$dir/kubectl"
	mkdir -p "$cache" && cp "$dir/kube-apiserver" "$dir/etcd" "$dir/kubectl" "$cache/" || true
	echo "envtest: built in $(($(date +%s) - start))s into $dir"
	;;
*)
	echo "usage: $0 dir|build [compat]" >&2
	exit 2
	;;
esac
