# model/: the embedder runtime. Targets:
#   make test-model-wasm   the model package's tests compiled to js/wasm (SIMD and scalar) under node
#   make bench-model       native go test -bench for kernels, preprocess and whole-model embed
#   make bench-browser     Go wasm (SIMD + scalar) vs onnxruntime-web 1/2 threads in headless Chromium: one JSON line
# The browser bench uses model/shipped/toonid.onnx when it exists, else a generated 96 px
# ResNet-like network of similar size (model/testdata/gen.py bench).

MODEL_BENCH := $(BUILD)/bench
MODEL_BENCH_ONNX := $(if $(wildcard model/shipped/toonid.onnx),model/shipped/toonid.onnx,$(MODEL_BENCH)/bench.onnx)
WASM_EXEC_DIR = $$($(GO) env GOROOT)/lib/wasm

.PHONY: test-model-wasm bench-model bench-browser

test-model-wasm: ## the model package's tests as js/wasm under node, SIMD and scalar
	PATH="$(WASM_EXEC_DIR):$$PATH" $(SIMD) GOOS=js GOARCH=wasm $(GO) test ./model
	PATH="$(WASM_EXEC_DIR):$$PATH" GOOS=js GOARCH=wasm $(GO) test ./model

$(MODEL_BENCH)/bench.onnx: model/testdata/gen.py
	mkdir -p $(MODEL_BENCH)
	cd model/testdata && $(PYTHON) gen.py bench $(abspath $@)

bench-model: ## native go test -bench: kernels, preprocess, whole-model embed
	$(SIMD) $(GO) test -run XXX -bench . -benchtime 2s ./model

bench-browser: node_modules $(MODEL_BENCH_ONNX) ## Go wasm vs onnxruntime-web on the same ONNX in headless Chromium: one JSON line
	mkdir -p $(MODEL_BENCH)
	$(SIMD) GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(MODEL_BENCH)/simd.wasm ./model/bench/wasm
	GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(MODEL_BENCH)/scalar.wasm ./model/bench/wasm
	cp -f "$(WASM_EXEC_DIR)/wasm_exec.js" $(MODEL_BENCH)/wasm_exec.js
# The shipped ONNX is benchmarked with the very file the product ships (int8 conv, float32 projection).
ifeq ($(MODEL_BENCH_ONNX),model/shipped/toonid.onnx)
	cp -f model/shipped/toonid.tmdl $(MODEL_BENCH)/bench.tmdl
else
	$(GO) run ./model/bench/mkmodel $(MODEL_BENCH_ONNX) $(MODEL_BENCH)/bench.tmdl
endif
	node model/bench/driver.mjs --dir $(MODEL_BENCH) --onnx $(MODEL_BENCH_ONNX)

TEST_TARGETS += test-model-wasm
BENCH_TARGETS += bench-browser
