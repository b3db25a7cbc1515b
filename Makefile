# toonid: `make demo` builds and serves the demo; `make test` runs every test.
# Every room adds its own targets in <room>/rules.mk and appends to TEST_TARGETS / DEMO_DEPS.
export GOTOOLCHAIN := go1.27.3
export GOFLAGS := -mod=mod
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
PYTHON ?= /usr/bin/python3
GO ?= go
SIMD := GOEXPERIMENT=simd
BUILD := build

TEST_TARGETS :=
DEMO_DEPS :=
BENCH_TARGETS :=

.PHONY: all demo test test-go test-go-scalar bench node_modules

all: demo-build

include $(sort $(wildcard */rules.mk */*/rules.mk))

node_modules: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	touch $@

# Go tests of every package, SIMD kernels on.
test-go:
	$(SIMD) $(GO) vet ./...
	$(SIMD) $(GO) test ./...

# The same packages with the scalar fallback kernels (no GOEXPERIMENT).
test-go-scalar:
	$(GO) test ./...

test: test-go test-go-scalar $(TEST_TARGETS)
	@echo "make test: all passed"

bench: $(BENCH_TARGETS)
