# paasdiag: see README.md. `make test` runs every test; `make demo` shows the controller
# at work on a local control plane.

# Tool versions. The envtest control plane's versions are pinned in
# hack/envtest/*/go.mod.
CONTROLLER_TOOLS_VERSION ?= v0.23.0

# The release: stamped into the manager (--version) and its image (make image).
VERSION ?= 0.1.0
# make image's base and platforms; the release's are IMAGE_BASE=gcr.io/distroless/static:nonroot
# and IMAGE_PLATFORMS=linux/amd64,linux/arm64 (pulled: needs the registry).
IMAGE_BASE ?= minimal
IMAGE_PLATFORMS ?= linux/amd64

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)

# The envtest assets (kube-apiserver, etcd) built from Go modules by hack/envtest.sh;
# the directory is named after a hash of the pins, so a change of pins rebuilds them.
ENVTEST_ASSETS = $(shell hack/envtest.sh dir)

GO_TEST_FLAGS ?= -count=1

.PHONY: all
all: generate manifests fmt vet build

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD, RBAC, docs/api.md, the alert rules and the Helm chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	# The ClusterRole a metrics scraper needs, from a package of its own that ./... skips.
	$(CONTROLLER_GEN) rbac:roleName=metrics-reader paths="./config/rbac/metrics/_markers" \
		output:rbac:artifacts:config=config/rbac/metrics
	go run ./hack/crddoc config/crd/bases/diagnosis.paasdiag.io_paasdiagnoses.yaml api/v1alpha1/condition_types.go > docs/api.md
	go run ./hack/promrules > config/prometheus/prometheusrule.yaml
	# The image's tag is the Makefile's VERSION; the chart's version follows it.
	sed -i -E 's|(image: ghcr\.io/paasdiag/paasdiag:)v[^[:space:]]+|\1v$(VERSION)|' config/manager/manager.yaml
	go run ./hack/chartgen -config config -out charts/paasdiag

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -l -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')

.PHONY: vet
vet: ## Run go vet (on the integration-tagged tests too).
	go vet -tags integration,compat ./...

STATICCHECK_VERSION ?= v0.8.2
ACTIONLINT_VERSION ?= v1.7.12
ACTIONLINT ?= $(LOCALBIN)/actionlint-$(ACTIONLINT_VERSION)
STATICCHECK ?= $(LOCALBIN)/staticcheck-$(STATICCHECK_VERSION)

.PHONY: lint
lint: $(STATICCHECK) $(ACTIONLINT) ## go vet, gofmt, go mod tidy (here, test/helm, hack/image, the S3 gateway pin), staticcheck and actionlint; fails on any finding.
	go vet -tags integration,compat ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@cp go.mod go.sum $(LOCALBIN)/ && go mod tidy && if ! cmp -s go.mod $(LOCALBIN)/go.mod || ! cmp -s go.sum $(LOCALBIN)/go.sum; then \
		cp $(LOCALBIN)/go.mod $(LOCALBIN)/go.sum . ; echo "go mod tidy would change go.mod or go.sum"; exit 1; fi
	cd test/helm && go vet -tags compat ./...
	@mkdir -p $(LOCALBIN)/helm && cd test/helm && cp go.mod go.sum $(LOCALBIN)/helm/ && go mod tidy && if ! cmp -s go.mod $(LOCALBIN)/helm/go.mod || ! cmp -s go.sum $(LOCALBIN)/helm/go.sum; then \
		cp $(LOCALBIN)/helm/go.mod $(LOCALBIN)/helm/go.sum . ; echo "go mod tidy would change test/helm/go.mod or go.sum"; exit 1; fi
	@mkdir -p $(LOCALBIN)/versitygw && cd internal/testsupport/s3server/versitygw && cp go.mod go.sum $(LOCALBIN)/versitygw/ && go mod tidy && if ! cmp -s go.mod $(LOCALBIN)/versitygw/go.mod || ! cmp -s go.sum $(LOCALBIN)/versitygw/go.sum; then \
		cp $(LOCALBIN)/versitygw/go.mod $(LOCALBIN)/versitygw/go.sum . ; echo "go mod tidy would change internal/testsupport/s3server/versitygw/go.mod or go.sum"; exit 1; fi
	cd hack/image && go vet ./... && $(STATICCHECK) ./...
	@mkdir -p $(LOCALBIN)/image-mod && cd hack/image && cp go.mod go.sum $(LOCALBIN)/image-mod/ && go mod tidy && if ! cmp -s go.mod $(LOCALBIN)/image-mod/go.mod || ! cmp -s go.sum $(LOCALBIN)/image-mod/go.sum; then \
		cp $(LOCALBIN)/image-mod/go.mod $(LOCALBIN)/image-mod/go.sum . ; echo "go mod tidy would change hack/image/go.mod or go.sum"; exit 1; fi
	$(STATICCHECK) -tags integration,compat ./...
	$(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yaml

$(STATICCHECK):
	GOBIN=$(LOCALBIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(LOCALBIN)/staticcheck $(STATICCHECK)

# actionlint (built from Go modules) lints the GitHub workflows, which cannot run here.
$(ACTIONLINT):
	GOBIN=$(LOCALBIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $(LOCALBIN)/actionlint $(ACTIONLINT)

.PHONY: unit
unit: ## Run the pure tests: no control plane, no database (under a minute).
	go test $(GO_TEST_FLAGS) ./...

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for tests from Go modules (first time ~15 min).
	hack/envtest.sh build

.PHONY: envtest-compat
envtest-compat: envtest ## Build kube-apiserver and kubectl at the oldest supported minor (first time ~10 min).
	hack/envtest.sh build compat

.PHONY: test-compat
test-compat: manifests envtest-compat mariadb build ## Install and run paasdiag on the oldest supported Kubernetes (docs/compatibility.md).
	KUBEBUILDER_ASSETS="$(shell hack/envtest.sh dir compat)" KUBECTL_CURRENT="$(ENVTEST_ASSETS)/kubectl" go test -tags compat $(GO_TEST_FLAGS) -v ./test/compat/
	cd test/helm && KUBEBUILDER_ASSETS="$(shell hack/envtest.sh dir compat)" go test -tags compat $(GO_TEST_FLAGS) -run TestInstallOnTheOldestControlPlane -v ./...

.PHONY: mariadb
mariadb: ## Install MariaDB from Debian's packages if it is missing (the tests start their own servers).
	hack/mariadb.sh install

.PHONY: promtool
promtool: ## Install promtool (Debian's prometheus package) if it is missing, for the alert rule tests.
	hack/promtool.sh

# The Helm chart's tests are their own module (test/helm), so that Helm's dependencies
# stay out of paasdiag's go.mod.
HELM_TEST = cd test/helm && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $(GO_TEST_FLAGS) ./...

.PHONY: test
test: manifests generate fmt vet envtest mariadb promtool ## Run every test: unit, integration (envtest + MariaDB, tag integration), the Helm chart's and the image's.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -tags integration $(GO_TEST_FLAGS) ./...
	$(HELM_TEST)
	cd hack/image && go test -timeout 30m $(GO_TEST_FLAGS) ./...

.PHONY: chart
chart: manifests ## Package charts/paasdiag as bin/paasdiag-$(VERSION).tgz (helm package, with the Helm library).
	cd test/helm && go run ./cmd/package -chart ../../charts/paasdiag -out $(LOCALBIN)

.PHONY: image
image: ## Build the manager's OCI image (an OCI layout in bin/image) and its SBOMs (bin/sbom-<os>-<arch>.cdx.json) from Go modules, no container runtime; on a minimal local base unless IMAGE_BASE is set.
	cd hack/image && go run . -repo ../.. -version $(VERSION) -base $(IMAGE_BASE) -platforms $(IMAGE_PLATFORMS) -out $(LOCALBIN)/image -sbom $(LOCALBIN)

.PHONY: test-helm
test-helm: manifests envtest ## Lint, render and install charts/paasdiag with the Helm library on envtest (first build ~1 min).
	$(HELM_TEST)

.PHONY: demo
demo: manifests envtest mariadb ## Show paasdiag at work on local control planes and MariaDB (about a minute once built).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./hack/demo

.PHONY: bench-isolation
bench-isolation: envtest build ## Scale runs: 1,000 diagnoses healthy and with 10 hanging, 3 runs each, medians (about 30 min).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" hack/isolation.sh

.PHONY: schema
schema: ## Re-extract hack/sql/<line>/{columns,migrations}.tsv from a git copy of TencentBlueKing/blueking-paas (MIRROR=dir).
	hack/schema/extract.sh $(MIRROR)

.PHONY: bench
bench: envtest build ## Run the benchmarks and print a table (see docs/performance.md).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" hack/bench.sh

##@ Build

.PHONY: build
build: ## Build the manager binary (--version: the Makefile's VERSION).
	go build -ldflags "-X main.version=$(VERSION)" -o $(LOCALBIN)/manager .

.PHONY: run
run: manifests generate ## Run the manager against the cluster of the current kubeconfig.
	go run . --leader-elect=false

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-12s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
