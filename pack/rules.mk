# pack/: centroid packs. Targets:
#   make default-pack     the default pack from tools/gallery with the shipped model, in the serving
#                         store layout: build/store/models/<model checksum>.tmdl (model/FORMAT.md),
#                         build/store/packs/default/{manifest.json,<sha256>.tps}
#   make test-pack-smoke  toonid eval on tools/gallery/eval.tsv + identify on the Sintel test frame
#   make bench-pack       matcher benchmarks, native and js/wasm (node), scalar and SIMD wasm
#                         (the package's js/wasm tests, SIMD scan included, are make test-wasm)
.PHONY: default-pack test-pack-smoke bench-pack

PACK_MODEL := model/shipped/toonid.tmdl
PACK_STORE := $(BUILD)/store
GALLERY := tools/gallery

$(PACK_STORE)/packs/default/manifest.json: $(TOONID) $(PACK_MODEL) $(GALLERY)/gallery.tsv $(GALLERY)/calib.tsv $(shell find $(GALLERY)/img $(GALLERY)/calib -type f 2>/dev/null)
	rm -rf $(PACK_STORE)/packs/default.tmp && mkdir -p $(PACK_STORE)/models $(PACK_STORE)/packs
	$(TOONID) pack build -model $(PACK_MODEL) -gallery $(GALLERY)/gallery.tsv -calib $(GALLERY)/calib.tsv -far 0.01 \
		-name default -o $(PACK_STORE)/packs/default.tmp
	sum=$$($(TOONID) checksum $(PACK_MODEL) | cut -d' ' -f1) && cp $(PACK_MODEL) $(PACK_STORE)/models/$$sum.tmdl
	rm -rf $(PACK_STORE)/packs/default && mv $(PACK_STORE)/packs/default.tmp $(PACK_STORE)/packs/default
	$(GO) run ./serve/internal/precompress -store $(PACK_STORE)
	$(TOONID) pack inspect $(PACK_STORE)/packs/default | head -8

default-pack: $(PACK_STORE)/packs/default/manifest.json ## the default pack from tools/gallery with the shipped model, into build/store

DEMO_DEPS += default-pack

test-pack-smoke: $(TOONID) default-pack ## toonid eval on the demo gallery + identify on the held-out test images
	@mkdir -p $(BUILD)/pack-smoke
	$(TOONID) eval -model $(PACK_MODEL) -manifest $(GALLERY)/eval.tsv -json -embeddings $(BUILD)/pack-smoke/embeddings.tsv > $(BUILD)/pack-smoke/eval.json
	rm -f $(BUILD)/pack-smoke/identify-*.json
	tail -n +2 $(GALLERY)/testimages/faces.tsv | while IFS='	' read -r img id x y w h note; do \
		$(TOONID) identify -model $(PACK_MODEL) -pack $(PACK_STORE)/packs/default -json -at $$((x + w / 2)),$$((y + h / 2)) \
			$(GALLERY)/testimages/$$img > $(BUILD)/pack-smoke/identify-$$id.json || exit 1; done
	$(PYTHON) pack/smoke_check.py $(GALLERY)/eval.tsv $(BUILD)/pack-smoke/eval.json $(BUILD)/pack-smoke/embeddings.tsv \
		$(PACK_STORE)/packs/default/manifest.json $(BUILD)/pack-smoke/identify-*.json

TEST_TARGETS += test-pack-smoke

# Matcher benchmarks: native, then js/wasm under node (go_js_wasm_exec).
bench-pack: ## matcher benchmarks, native and js/wasm (scalar, SIMD)
	$(SIMD) $(GO) test ./pack -run '^$$' -bench Match -benchtime 200x
	GOOS=js GOARCH=wasm $(GO) test ./pack -run '^$$' -bench Match -benchtime 50x -exec "$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec"
	$(SIMD) GOOS=js GOARCH=wasm $(GO) test ./pack -run '^$$' -bench Match -benchtime 50x -exec "$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec"

BENCH_TARGETS += bench-pack
