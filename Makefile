# Breachline — build, run and check everything. `make help` lists the targets.
# Every tool is pinned and installed into .bin/ by this Makefile; a fresh
# clone needs only Go (and npm for the googleapis protos in the proto targets:
# generate, checkgenerate, lint, buf-lint, breaking).
SHELL := /usr/bin/env bash -o errexit -o nounset -o pipefail
.SHELLFLAGS := -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

ROOT    := $(abspath .)
TOOLS   := $(ROOT)/.bin
CACHE   := $(ROOT)/.cache
BIN     := $(ROOT)/bin
export PATH := $(TOOLS):$(PATH)
export GOWORK := $(ROOT)/go.work

# Pinned tool versions.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
GRPC_GATEWAY_VERSION       := v2.33.0
GOLANGCI_LINT_VERSION      := v2.15.0
GRPCURL_VERSION            := v1.9.3
GOOGLE_PROTO_FILES_VERSION := 5.0.3

MODULES  := pkg services/intake services/classification services/registry services/dispatch gateway deploy
SERVICES := intake classification registry dispatch
BENCH    ?=
TESTFLAGS ?=

##@ Everyday

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

.PHONY: run
run: build ## Build and start the embedded store, the four services and the gateway (Ctrl-C stops all).
	@BIN_DIR=$(BIN) DATA_DIR=$(ROOT)/.data $(BIN)/devstack

.PHONY: build
build: ## Build every binary into bin/.
	@mkdir -p $(BIN)
	@for s in $(SERVICES); do go build -o $(BIN)/$$s ./services/$$s/cmd/$$s; done
	@go build -o $(BIN)/gateway ./gateway/cmd/gateway
	@go build -o $(BIN)/devstore ./pkg/cmd/devstore
	@go build -o $(BIN)/devstack ./pkg/cmd/devstack
	@echo "built: $$(ls $(BIN) | tr '\n' ' ')"

# Fuzz targets run for FUZZTIME each in make test: <module>:<package>:<target>.
FUZZ     := gateway:./internal/server:FuzzJSONBody gateway:./internal/server:FuzzRawBody pkg:./csvimport:FuzzStream \
            services/classification:./internal/scanner:FuzzScan
FUZZTIME ?= 5s

.PHONY: test
test: ## Run every module's tests (unit, store contract, handler and end-to-end), then each fuzz target for FUZZTIME.
	@for m in $(MODULES); do echo "== go test $$m"; (cd $$m && go test $(TESTFLAGS) ./...); done
	@$(MAKE) --no-print-directory fuzz

.PHONY: fuzz
fuzz: ## Run each fuzz target (request decoders, CSV importer) for FUZZTIME (default 5s).
	@for f in $(FUZZ); do IFS=: read -r m p n <<<"$$f"; echo "== fuzz $$n ($(FUZZTIME))"; \
	  (cd $$m && go test -run '^$$' -fuzz "^$$n\$$" -fuzztime $(FUZZTIME) $$p) || exit 1; done

.PHONY: bench
bench: ## Run benchmarks; BENCH=<area> (intake, classification, registry, dispatch, gateway) for one area.
	@areas="$(if $(BENCH),$(BENCH),$(SERVICES) gateway)"; \
	for a in $$areas; do \
	  case $$a in gateway) dir=gateway;; intake|classification|registry|dispatch) dir=services/$$a;; *) echo "unknown BENCH area $$a" >&2; exit 2;; esac; \
	  echo "== bench $$a"; (cd $$dir && go test -run '^$$' -bench . -benchtime 1x ./... | grep -E '^bench: |^(ok|FAIL|---)' || true); \
	done

##@ Checks

.PHONY: lint
lint: tools ## Run golangci-lint in every module, go vet, buf lint and buf format.
	@for m in $(MODULES); do echo "== lint $$m"; (cd $$m && go vet ./... && golangci-lint run ./...); done
	@$(MAKE) --no-print-directory buf-lint

.PHONY: buf-lint
buf-lint: tools protodeps ## buf lint (STANDARD) and buf format check.
	buf lint proto
	buf format -d --exit-code proto

# The googleapis imports live only in the ignored cache, not in git, so the
# tree compared against (any git ref) is unpacked beside a copy of them.
BREAKING_AGAINST ?= main
.PHONY: breaking
breaking: tools protodeps ## buf breaking against BREAKING_AGAINST (a git ref; default main).
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git archive $(BREAKING_AGAINST) buf.yaml proto | tar -x -C "$$tmp"; \
	mkdir -p "$$tmp/.cache" && cp -R $(CACHE)/googleapis "$$tmp/.cache/"; \
	echo "buf breaking proto --against $(BREAKING_AGAINST)"; \
	buf breaking proto --against "$$tmp/proto"

.PHONY: generate
generate: tools protodeps ## Regenerate Go, grpc-gateway and OpenAPI code from the protos.
	buf format -w proto
	buf generate

.PHONY: checkgenerate
checkgenerate: generate ## Fail if generated code differs from what is committed.
	@if [ -n "$$(git status --porcelain -- pkg/gen gateway/openapi/spec proto)" ]; then \
	  git status --porcelain -- pkg/gen gateway/openapi/spec proto; git --no-pager diff --stat -- pkg/gen gateway/openapi/spec proto; \
	  echo "generated code is out of date: run make generate and commit" >&2; exit 1; fi

IMAGE_TAG ?= 0.1.0
.PHONY: images
images: ## Build the container image of every deployable (needs a Docker engine).
	@for t in $(SERVICES) gateway; do \
	  docker build -f deploy/docker/Dockerfile --build-arg TARGET=$$t -t breachline/$$t:$(IMAGE_TAG) . ; done

.PHONY: manifests
manifests: ## Render the Kubernetes manifests of both overlays to stdout.
	@for o in dev production; do echo "# ---- overlay $$o"; kubectl kustomize deploy/kustomize/overlays/$$o; done

.PHONY: clean
clean: ## Remove build output (keeps .data/ and tool caches).
	rm -rf $(BIN)

##@ Tools

TOOL_STAMPS := $(TOOLS)/.buf-$(BUF_VERSION) $(TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
       $(TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) $(TOOLS)/.grpc-gateway-$(GRPC_GATEWAY_VERSION) \
       $(TOOLS)/.golangci-lint-$(GOLANGCI_LINT_VERSION) $(TOOLS)/.grpcurl-$(GRPCURL_VERSION)

.PHONY: tools
tools: $(TOOL_STAMPS) ## Install the pinned tools into .bin/.

$(TOOLS)/.buf-$(BUF_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(TOOLS)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(TOOLS)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@
$(TOOLS)/.grpc-gateway-$(GRPC_GATEWAY_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION) github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	@touch $@
$(TOOLS)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@touch $@
$(TOOLS)/.grpcurl-$(GRPCURL_VERSION):
	GOBIN=$(TOOLS) GOWORK=off go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	@touch $@

# The googleapis protos (google/api/annotations.proto, http.proto,
# field_behavior.proto, httpbody.proto) come from the npm package
# google-proto-files into the ignored .cache/googleapis; they are never vendored.
.PHONY: protodeps
protodeps: $(CACHE)/googleapis/.v$(GOOGLE_PROTO_FILES_VERSION)

$(CACHE)/googleapis/.v$(GOOGLE_PROTO_FILES_VERSION):
	@rm -rf $(CACHE)/googleapis $(CACHE)/npm && mkdir -p $(CACHE)/googleapis $(CACHE)/npm
	cd $(CACHE)/npm && npm pack --silent google-proto-files@$(GOOGLE_PROTO_FILES_VERSION) >/dev/null
	tar -xzf $(CACHE)/npm/google-proto-files-$(GOOGLE_PROTO_FILES_VERSION).tgz -C $(CACHE)/googleapis --strip-components=1 \
	  package/google/api/annotations.proto package/google/api/http.proto \
	  package/google/api/field_behavior.proto package/google/api/httpbody.proto
	@touch $@
