# worker/: the Cloudflare Worker (syumai/workers, standard Go -> js/wasm) serving serve.New over R2.
#   make worker-build   build worker/build/{worker.mjs,app.wasm}
#   make worker-size    bundle size, raw and gzip, as `wrangler deploy --dry-run` reports it
#   make worker-dev     offline `wrangler dev` with a local R2 bucket seeded from $(BUILD)/store
#   make test-worker    e2e tests under real workerd with local R2 (fixture store made by the test)
#   make test-worker-site  the demo's JS API loading model + pack from the Worker URL
.PHONY: worker-build worker-size worker-dev test-worker test-worker-site

WRANGLER := node_modules/.bin/wrangler
WORKER_PORT ?= 8787
WORKER_BUCKET := toonid-store
WORKER_SRC := $(filter-out %_test.go,$(wildcard serve/*.go worker/*.go)) go.mod go.sum Makefile

worker-build: worker/build/app.wasm ## the Cloudflare Worker (syumai/workers) as worker/build/app.wasm

# workers-assets-gen empties worker/build/ and writes the JS shim; then the Go build.
worker/build/app.wasm: $(WORKER_SRC)
	cd worker && $(GO) run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o build
	cd worker && $(WASM_SCALAR) $(GO) build -trimpath -ldflags='-s -w' -o build/app.wasm .

worker-size: worker-build node_modules ## the Worker's size as wrangler deploy --dry-run reports it
	@rm -rf worker/build/dist
	cd worker && ../$(WRANGLER) deploy --dry-run --outdir build/dist 2>&1 | grep -E "Total Upload|gzip" || true
	@echo "app.wasm: $$(stat -c %s worker/build/app.wasm) bytes raw, $$(gzip -9 -c worker/build/app.wasm | wc -c) bytes gzip -9"

# Seeds worker/.wrangler/state (git-ignored) from $(BUILD)/store, then serves on $(WORKER_PORT).
worker-dev: worker-build $(TOONID) node_modules ## offline wrangler dev with a local R2 bucket seeded from build/store
	@test -d $(BUILD)/store/packs || $(MAKE) default-pack
	$(TOONID) publish -store $(BUILD)/store -local -persist-to worker/.wrangler/state \
		-bucket $(WORKER_BUCKET) -wrangler $(WRANGLER)
	cd worker && ../$(WRANGLER) dev --ip 127.0.0.1 --port $(WORKER_PORT) --persist-to .wrangler/state \
		--show-interactive-dev-session=false

# The fixture store's real packs (toonid publish verifies packs before uploading them).
WORKER_FIXTURE := $(BUILD)/worker-test/fixture
$(WORKER_FIXTURE): worker/test/fixture/main.go internal/teststore/teststore.go $(shell find model pack -name '*.go' -not -name '*_test.go' 2>/dev/null)
	@mkdir -p $(dir $@)
	$(GO) build -o $@ ./worker/test/fixture

test-worker: worker-build $(TOONID) $(WORKER_FIXTURE) node_modules ## e2e tests of the Worker under real workerd with a local R2 bucket
	TOONID_BIN=$(TOONID_BIN) FIXTURE_BIN=$(abspath $(WORKER_FIXTURE)) nice node --test --test-timeout=600000 worker/test/worker.test.mjs

# The demo's JS API (site room) pointed at the Worker URL, answers compared with same-origin
# loading. Uses the site room's build and dev store (built for test-browser anyway).
test-worker-site: worker-build $(TOONID) node_modules site $(BUILD)/devstore/scene.json ## the demo's JS API loading model + pack from the Worker URL
	TOONID_BIN=$(TOONID_BIN) SITE_DIR=$(abspath $(BUILD)/site) STORE_DIR=$(abspath $(BUILD)/devstore) \
		nice node --test --test-timeout=600000 worker/test/site-on-worker.test.mjs

TEST_TARGETS += test-worker test-worker-site

# Bounded load test on loopback: 5,000 requests at 32 against the local Go server, 500 at 8
# against wrangler dev; every response checked, zero errors required. Figures: serve/BENCHMARKS.md.
.PHONY: bench-serve
bench-serve: worker-build $(TOONID) node_modules ## bounded load test on loopback: local Go server and wrangler dev
	$(GO) run ./serve/internal/loadtest -n 5000 -c 32 -worker -worker-n 500 -worker-c 8 \
		-toonid $(TOONID_BIN) -wrangler $(WRANGLER) -worker-dir worker
BENCH_TARGETS += bench-serve
