# The cartoon face detector: data, training, benchmark. Recipe: model/train/README.md
# ("Face detector"); decoding and NMS: package detect; model file kind: model/FORMAT.md.
# make train-detect-data  sprite bank + synthetic scenes with exact face boxes + windows of the
#                         hand-labelled real images (model/train/detect_real.tsv) (~10-20 min on 2 cores)
# make train-detect       the detector: frozen-trunk cache -> head training (DETECT_MINUTES) -> ONNX -> int8 .tmdl
# make bench-detect       the detector vs lbpcascade_animeface on tools/gallery/detval (reads ../shared),
#                         and Go wasm vs onnxruntime-web on the detector's ONNX in Chromium (model/bench)

DET_TRAIN := model/train
DET_DATA := $(DET_TRAIN)/data/detect
SHARED_ART ?= ../shared/data
DET_SCENES ?= 16000
DET_VAL_SCENES ?= 300
DET_CHARS ?= 300
DET_REAL ?= 1500

$(DET_DATA)/bank/bank.tsv: $(DET_TRAIN)/detect_data.py $(DET_TRAIN)/detect_sprites.mjs $(DET_TRAIN)/procgen.py | node_modules
	rm -rf $(DET_DATA)/bank $(DET_DATA)/dicebear && mkdir -p $(DET_DATA)/dicebear
	for i in 0 1; do nice -n 10 node $(DET_TRAIN)/detect_sprites.mjs --out $(DET_DATA)/dicebear --first 200000 --count $(DET_CHARS) --shard $$i/2 & done; wait
	nice -n 10 $(PYTHON) $(DET_TRAIN)/detect_data.py bank --shared $(SHARED_ART) --dicebear $(DET_DATA)/dicebear --out $(DET_DATA)/bank

# The scenes step always runs: it keeps the scenes its labels already hold (raise DET_SCENES to add more).
.PHONY: train-detect-data
train-detect-data: $(DET_DATA)/bank/bank.tsv ## detector training data: sprite bank + synthetic scenes with face boxes
	mkdir -p $(DET_DATA)/scenes
	for i in 0 1; do nice -n 10 $(PYTHON) $(DET_TRAIN)/detect_data.py scenes --bank $(DET_DATA)/bank --shared $(SHARED_ART) \
		--out $(DET_DATA)/scenes/train --first 0 --count $(DET_SCENES) --shard $$i/2 & done; wait
	nice -n 10 $(PYTHON) $(DET_TRAIN)/detect_data.py scenes --bank $(DET_DATA)/bank --shared $(SHARED_ART) \
		--out $(DET_DATA)/scenes/val --first 1000000 --count $(DET_VAL_SCENES)
	nice -n 10 $(PYTHON) $(DET_TRAIN)/detect_data.py real --labels $(DET_TRAIN)/detect_real.tsv --shared $(SHARED_ART) \
		--out $(DET_DATA)/scenes/train --count $(DET_REAL)

# Training: the fixed trunk's activations on every scene are cached once (data/detect/cache_*.npy,
# ~10 scenes/s on one core), then the head trains for DETECT_MINUTES (checkpoint every
# 5 minutes; rerunning resumes), exports ONNX, and `toonid detect quantize` writes the int8 file.
DETECT_MINUTES ?= 75
DETECT_RUN := $(DET_TRAIN)/runs/detect
.PHONY: train-detect
train-detect: train-detect-data $(DET_TRAIN)/data/nsfwjs_mnv2/model.json ## the face detector: cache, head training (DETECT_MINUTES), ONNX, int8 .tmdl
	nice -n 15 $(PYTHON) $(DET_TRAIN)/detect.py --data $(DET_DATA) --out $(DETECT_RUN) --minutes $(DETECT_MINUTES) --threads 1 --cache-threads 2 --resume
	$(SIMD) $(GO) run ./tools/toonid detect quantize -o $(DETECT_RUN)/detect.tmdl $(DETECT_RUN)/detect.onnx

# Tests: decoding and NMS natively and as js/wasm (SIMD and scalar), no shared art.
GO_JS_WASM_EXEC_DETECT = "$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec"
.PHONY: test-detect
test-detect: ## the detector's decoding, NMS and model-kind tests, natively and as js/wasm
	$(GO) test ./detect ./model -run 'Detect|Kind|NMS|Decode|Embedders'
	$(SIMD) GOOS=js GOARCH=wasm $(GO) test -exec $(GO_JS_WASM_EXEC_DETECT) ./detect
	GOOS=js GOARCH=wasm $(GO) test -exec $(GO_JS_WASM_EXEC_DETECT) ./detect
TEST_TARGETS += test-detect

# Benchmark (reads ../shared for the cascade; not a test): the detector vs lbpcascade_animeface
# on tools/gallery/detval, one thread each; the last line is one JSON object.
DETECT_MODEL ?= model/shipped/detect.tmdl
DETECT_ONNX ?= model/shipped/detect.onnx
DETECT_BENCH := $(BUILD)/bench-detect
LBP_CASCADE ?= ../shared/baselines/lbpcascade_animeface.xml
.PHONY: bench-detect
bench-detect: ## the detector vs lbpcascade_animeface on tools/gallery/detval: AP@0.5, lenient AP, recall at 1 FP/image, ms/frame
	mkdir -p $(BUILD)
	$(SIMD) $(GO) build -o $(BUILD)/toonid-bench ./tools/toonid
	mkdir -p $(DETECT_BENCH)
	$(SIMD) GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(DETECT_BENCH)/simd.wasm ./model/bench/wasm
	GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(DETECT_BENCH)/scalar.wasm ./model/bench/wasm
	cp -f "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(DETECT_BENCH)/wasm_exec.js
	cp -f $(DETECT_MODEL) $(DETECT_BENCH)/bench.tmdl
	node model/bench/driver.mjs --dir $(DETECT_BENCH) --onnx $(DETECT_ONNX) > $(DETECT_BENCH)/browser.json
	$(PYTHON) $(DET_TRAIN)/bench_detect.py --model $(DETECT_MODEL) --cascade $(LBP_CASCADE) --toonid $(BUILD)/toonid-bench --go $(GO) \
		--browser $(DETECT_BENCH)/browser.json
