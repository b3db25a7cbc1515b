# serve/: the one http.Handler (serve.New) and the local server behind `make demo`.
#   make demo        build everything in DEMO_DEPS (site, default pack, ...) and serve it on
#                    http://127.0.0.1:$(DEMO_PORT)/ with `toonid serve` (API at /v1/, site at /)
#   make demo-build  only build
#   make fuzz-serve  the route, range and handler fuzzers, ~15 s each
.PHONY: demo demo-build fuzz-serve fuzz

DEMO_PORT ?= 8080
# DEMO_DEPS is expanded in the recipe, after every rules.mk has added to it.
demo-build: $(TOONID) ## build the wasm, the site and the default pack (what make demo serves)
	$(MAKE) $(DEMO_DEPS)

demo: demo-build ## serve the demo on http://127.0.0.1:8080/
	$(TOONID) serve -addr 127.0.0.1:$(DEMO_PORT) -store $(BUILD)/store -site $(BUILD)/site

fuzz-serve: ## fuzz the route and Range parsers (15 s each)
	$(GO) test -run '^$$' -fuzz '^FuzzParseRoute$$' -fuzztime 15s ./serve
	$(GO) test -run '^$$' -fuzz '^FuzzParseRange$$' -fuzztime 15s ./serve
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime 15s ./serve

FUZZTIME ?= 10s
FUZZPKGS ?= ./...
fuzz: ## every Fuzz target of the module for FUZZTIME (10s) each; prints executions per target
	$(SIMD) serve/internal/fuzzall.sh $(FUZZTIME) $(FUZZPKGS)
