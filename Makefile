# KubeOpenCode. `make help` lists the targets. Everything builds from the Go module proxy; the test
# bed's Kubernetes is built from source into a cache outside the clone (see hack/testbed/README.md).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Every Go module of the workspace. LIBRARIES must never depend on controller-runtime.
LIBRARIES := api podspec credentials policy rbac
MODULES := $(LIBRARIES) taskpod operator examples e2e hack/testbed hack/controlplane hack/tools
# Modules whose tests need no running Kubernetes (e2e's cluster tests are behind the e2e build tag).
UNIT_MODULES := $(LIBRARIES) taskpod e2e hack/testbed hack/tools
# Modules whose tests start envtest (etcd + kube-apiserver from `make testbin`).
INTEGRATION_MODULES := hack/controlplane operator examples

export GOFLAGS := -buildvcs=false
TOOLS_BIN := $(CURDIR)/bin
TOOLS_DEPS := hack/tools/go.mod hack/tools/go.sum
GO_TEST_FLAGS ?= -count=1

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development
.PHONY: run
run: ## Run the operator demo (local control plane + kwok node, or $KUBECONFIG's cluster).
	@hack/run.sh

.PHONY: generate
generate: $(TOOLS_BIN)/controller-gen ## Regenerate deepcopy, CRDs, manifests and charts/kubeopencode (go generate in every module).
	@for m in $(MODULES); do (cd $$m && PATH="$(TOOLS_BIN):$$PATH" GOWORK=off go generate ./...); done

.PHONY: verify
verify: $(TOOLS_BIN)/staticcheck ## gofmt, go vet, staticcheck, go mod tidy, generated files, GOWORK=off builds, library deps.
	@hack/verify.sh $(MODULES)

##@ Images
.PHONY: image
image: ## Build the operator, agent-opencode and executor images offline (ARCH=amd64|arm64) into the cache; see docs/images.md.
	@hack/images/build.sh

.PHONY: image-push
image-push: ## Push the built images to IMAGE_PREFIX as multi-arch lists (e.g. ARCHES="amd64 arm64" IMAGE_PREFIX=registry.example.com/team make image-push).
	@hack/images/push.sh

##@ Testing
.PHONY: test
test: test-unit test-integration test-e2e ## Run everything: unit, envtest integration and e2e on the local cluster.

.PHONY: test-unit
test-unit: ## Unit tests of the libraries, api and helpers (no Kubernetes needed).
	@for m in $(UNIT_MODULES); do echo "== go test $$m"; (cd $$m && GOWORK=off go test $(GO_TEST_FLAGS) ./...); done

.PHONY: test-integration
test-integration: testbin-envtest ## Tests against a real kube-apiserver (envtest).
	@for m in $(INTEGRATION_MODULES); do echo "== go test $$m"; (cd $$m && GOWORK=off go test $(GO_TEST_FLAGS) ./...); done

.PHONY: test-e2e
test-e2e: ## End-to-end tests on the local cluster (kwok + real kubelet node; needs root), torn down after.
	@hack/testbed/run-e2e.sh $(GO_TEST_FLAGS)

.PHONY: bench
bench: ## Load test on a kwok-only test bed (.testbed-bench) + library benchmarks; results/ (not part of test). BENCH_ARGS=...
	@e2e/cmd/loadtest/bench.sh $(BENCH_ARGS)

.PHONY: chaos
chaos: ## Fault run on a kwok-only test bed (.testbed-chaos): operator kills, API server restarts, escapes; results/chaos.json (not part of test). CHAOS_ARGS=...
	@e2e/cmd/chaos/chaos.sh $(CHAOS_ARGS)

##@ Test bed
.PHONY: testbin
testbin: ## Build every test-bed binary into the cache (cold: ~11 min on 2 cores; warm: seconds).
	@hack/testbed/build.sh

.PHONY: testbin-envtest
testbin-envtest: ## Build only etcd, kube-apiserver (what envtest needs) and helm (the chart's rendering test).
	@hack/testbed/build.sh envtest

.PHONY: testbed-up
testbed-up: ## Bring the local cluster up (writes .testbed/kubeconfig).
	@hack/testbed/up.sh

.PHONY: testbed-down
testbed-down: ## Tear the local cluster down (only what the test bed started).
	@hack/testbed/down.sh

# Tools, built from the pinned tool module into ./bin.
$(TOOLS_BIN)/controller-gen: $(TOOLS_DEPS)
	@cd hack/tools && GOWORK=off go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(TOOLS_BIN)/staticcheck: $(TOOLS_DEPS)
	@cd hack/tools && GOWORK=off go build -o $@ honnef.co/go/tools/cmd/staticcheck
