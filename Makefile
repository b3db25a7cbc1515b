# toonid: `make demo` builds and serves the demo; `make test` runs every test.
# Every room adds its own targets in <room>/rules.mk and appends to TEST_TARGETS / DEMO_DEPS.
export GOTOOLCHAIN := go1.27.3
export GOFLAGS := -mod=mod
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
PYTHON ?= /usr/bin/python3
GO ?= go
SIMD := GOEXPERIMENT=simd
# What runs as js/wasm (the browser module, the Worker, and their tests) is built with
# encoding/json's own v1 code instead of Go 1.27's default v2-backed one (nojsonv2): the same v1
# semantics, and the browser module is 196 KB smaller in brotli (1,242,160 -> 1,046,532 bytes).
# (So the wasm builds list the Makefile among their prerequisites.)
WASM_SIMD := GOOS=js GOARCH=wasm GOEXPERIMENT=simd,nojsonv2
WASM_SCALAR := GOOS=js GOARCH=wasm GOEXPERIMENT=nojsonv2
BUILD := build

TEST_TARGETS :=
DEMO_DEPS :=
BENCH_TARGETS :=

.PHONY: all demo test test-go test-go-scalar bench node_modules setup help toonid FORCE

# The one toonid binary every room's rules run. Its recipe always runs go build (the build cache
# makes an unchanged build cheap) instead of trusting a hand-kept list of sources, and replaces
# the file only when the bytes differ, so what was made from it (the default pack) is remade only
# when the tool really changed. The node tests find it through TOONID_BIN.
TOONID := $(BUILD)/bin/toonid
export TOONID_BIN := $(abspath $(TOONID))

all: demo-build

include $(sort $(wildcard */rules.mk */*/rules.mk))

toonid: $(TOONID) ## build the toonid CLI into build/bin/toonid (SIMD kernels)

$(TOONID): FORCE
	@mkdir -p $(dir $@)
	$(SIMD) $(GO) build -o $@.tmp ./tools/toonid
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

setup: ## install what `make test` needs and is missing (apt, npm, Go proxy), saying what
	tools/setup.sh

node_modules: node_modules/.package-lock.json ## npm ci from package-lock.json when it changed
node_modules/.package-lock.json: package.json package-lock.json
	ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	touch $@

# Go tests of every package, SIMD kernels on.
test-go: ## go vet + go test ./... with the SIMD kernels (GOEXPERIMENT=simd)
	$(SIMD) $(GO) vet ./...
	$(SIMD) $(GO) test ./...

# The same packages with the scalar fallback kernels (no GOEXPERIMENT).
test-go-scalar: ## go test ./... with the scalar fallback kernels
	$(GO) test ./...

# setup first: on a fresh machine with only Go, Node and make, `make test` installs the rest.
test: ## every test (installs what is missing first): Go SIMD + scalar, wasm, training, browser, workerd
	$(MAKE) setup
	$(MAKE) test-all

test-all: test-go test-go-scalar $(TEST_TARGETS) ## every test, without the setup step
	@echo "make test: all passed"

help: ## this list
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z0-9_-]+):.*## /\1\t/' | sort | \
		awk -F'\t' '{printf "  %-20s %s\n", $$1, $$2}'

bench: $(BENCH_TARGETS) ## every benchmark (BENCH_TARGETS)
