# site/ + wasm/: the browser demo. `make site` builds $(BUILD)/site; `make test-browser` runs the
# headless-Chromium tests; `make bench-site` measures the browser figures.
.PHONY: site test-browser test-browser-dev test-browser-product bench-site bench-site-dev

SITE_OUT := $(BUILD)/site
SITE_FILES := index.html app.js verdict.js md.js sniff.js taught.js packio.js favicon.svg toonid.js worker.js worker-live.js live.js live-ui.js assets.js sw.js style.css overlay.js
WASM_SRC := $(shell find wasm identify model pack detect track live -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum Makefile
GALLERY_CREDITS := $(wildcard tools/gallery/CREDITS.md)
# "Try an example" on the first screen: the open art in tools/gallery/testimages (credited in CREDITS.md);
# build.mjs adds what lands in examples/ to the shell sw.js precaches.
EXAMPLES := $(wildcard tools/gallery/testimages/*.jpg)

site: $(SITE_OUT)/build.json ## build the demo site (wasm, JS, build.json) into build/site

# The face detector (DETECT_MODEL, detect/rules.mk): the page finds it as it finds the embedder,
# by its content address in the store (models/<checksum>.tmdl); build.json names that address.
# store-detector copies it into the store (the dev store gets its own copy below).
SITE_DETECTOR ?= $(DETECT_MODEL)
detector_sum = $$($(TOONID) checksum $(SITE_DETECTOR) | cut -d' ' -f1)
STORE_DETECTOR := $(PACK_STORE)/detector.sha256
.PHONY: store-detector
store-detector: $(STORE_DETECTOR) ## copy the face detector into the store by its content address
$(STORE_DETECTOR): $(SITE_DETECTOR) $(TOONID)
	mkdir -p $(PACK_STORE)/models
	sum=$(detector_sum) && cp $(SITE_DETECTOR) $(PACK_STORE)/models/$$sum.tmdl && echo $$sum > $@
DEMO_DEPS += store-detector

# Both builds: SIMD128 and scalar (WASM_SIMD / WASM_SCALAR); worker.js picks one by feature detection.
$(SITE_OUT)/toonid-simd.wasm: $(WASM_SRC)
	@mkdir -p $(SITE_OUT)
	$(WASM_SIMD) $(GO) build -trimpath -ldflags=-s -o $@ ./wasm

$(SITE_OUT)/toonid.wasm: $(WASM_SRC)
	@mkdir -p $(SITE_OUT)
	$(WASM_SCALAR) $(GO) build -trimpath -ldflags=-s -o $@ ./wasm

$(SITE_OUT)/build.json: $(SITE_OUT)/toonid-simd.wasm $(SITE_OUT)/toonid.wasm $(addprefix site/,$(SITE_FILES)) site/tools/build.mjs $(GALLERY_CREDITS) $(EXAMPLES) $(SITE_DETECTOR) $(TOONID)
	@mkdir -p $(SITE_OUT)
	cp $(addprefix site/,$(SITE_FILES)) $(SITE_OUT)/
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(SITE_OUT)/wasm_exec.js
	if [ -f tools/gallery/CREDITS.md ]; then cp tools/gallery/CREDITS.md $(SITE_OUT)/CREDITS.md; \
	else echo "tools/gallery/CREDITS.md is missing from this build." > $(SITE_OUT)/CREDITS.md; fi
	rm -rf $(SITE_OUT)/examples && mkdir -p $(SITE_OUT)/examples && cp $(EXAMPLES) $(SITE_OUT)/examples/
	node site/tools/build.mjs $(SITE_OUT) --detector "$(detector_sum):$$(stat -c %s $(SITE_DETECTOR))"
	$(GO) run ./serve/internal/precompress $(SITE_OUT)

# The dev store: a random-weight model and a pack of drawn characters (site/test/devstore), so the
# whole browser path is tested even where the shipped model or the default pack is missing.
DEVSTORE := $(BUILD)/devstore
$(DEVSTORE)/scene.json: site/test/devstore/main.go $(shell find model pack internal/devmodel -name '*.go' -not -name '*_test.go' 2>/dev/null) $(SITE_DETECTOR) $(TOONID)
	rm -rf $(DEVSTORE)
	$(GO) run ./site/test/devstore -out $(DEVSTORE)
	sum=$(detector_sum) && cp $(SITE_DETECTOR) $(DEVSTORE)/models/$$sum.tmdl

# test-browser-dev needs no shipped model; test-browser then repeats the run on the default pack
# with the Sintel test image.
test-browser-dev: site $(TOONID) $(DEVSTORE)/scene.json node_modules ## headless Chromium e2e on the dev store
	TOONID_STORE=$(DEVSTORE) TOONID_SCENE=$(DEVSTORE)/scene.json nice node site/test/e2e.mjs

test-browser: test-browser-dev default-pack store-detector ## headless Chromium e2e on the dev store and the default pack
	nice node site/test/e2e.mjs

# The demo as a product: wording, fixes, stale state, first screen, inputs, crops,
# overlay; screenshots in test-artifacts/product/. ONLY=2,5 runs those items' steps.
test-browser-product: site $(TOONID) default-pack store-detector node_modules ## headless Chromium: the demo as a person meets it (screenshots in test-artifacts/product)
	nice node site/test/product.mjs

bench-site: site default-pack store-detector $(TOONID) node_modules ## page-load and click-to-answer timings in headless Chromium (default pack)
	nice node site/test/bench.mjs

# The detector's figure: identifyAll on an 848x480 frame of six faces (median ms, <= 100 ms?) and
# the detector's bytes beside the first load's; one JSON line.
.PHONY: bench-site-faces
bench-site-faces: site default-pack store-detector $(TOONID) node_modules ## identifyAll on an 848x480 frame of 6 faces in headless Chromium (one JSON line)
	nice node site/test/bench-faces.mjs
BENCH_TARGETS += bench-site-faces

# bench-site on the dev store (no shipped model needed).
bench-site-dev: site $(TOONID) $(DEVSTORE)/scene.json node_modules ## the same timings on the dev store
	TOONID_STORE=$(DEVSTORE) TOONID_SCENE=$(DEVSTORE)/scene.json nice node site/test/bench.mjs

DEMO_DEPS += site
# Page-side JS under node, no browser: toonid.js (fake Worker), the extension's offscreen document
# (fake chrome APIs) and its permissions.
.PHONY: test-site-unit
test-site-unit: ## unit tests of toonid.js, assets.js, build.mjs and the extension's scripts under node (no browser)
	node --test site/test/unit.test.mjs site/test/assets.test.mjs

# Taught characters as a pack (site/packio.js, the bridge's exportPack/importPack): teach, export,
# import in a fresh profile, identify; corrupt files refused; toonid pack import + serve.
.PHONY: test-browser-pack
test-browser-pack: site $(TOONID) $(DEVSTORE)/scene.json node_modules ## headless Chromium: taught characters exported as a pack, imported in a fresh browser
	TOONID_STORE=$(DEVSTORE) nice node site/test/packio.mjs

TEST_TARGETS += test-browser-pack

# The face detector in the demo: a frame composited from the gallery's art, every face found and
# named, boxes on the picture, click in a box, video pause/play, bad input; screenshots in
# test-artifacts/faces/.
.PHONY: test-browser-faces
test-browser-faces: site $(TOONID) default-pack store-detector node_modules ## headless Chromium: the detector's boxes and names in the demo (screenshots in test-artifacts/faces)
	nice node site/test/faces.mjs
TEST_TARGETS += test-browser-faces
TEST_TARGETS += test-browser test-browser-product test-extension test-extension-product test-site-unit
BENCH_TARGETS += bench-site

# The MV3 extension: the same worker/API/wasm in an offscreen document, the default pack inside.
EXT_OUT := $(BUILD)/extension
EXT_FILES := manifest.json background.js messages.js offscreen.html offscreen.js content.js popup.html popup.js options.html options.js ext.css
.PHONY: extension test-extension
extension: site default-pack store-detector ## build the unpacked MV3 extension into build/extension
	rm -rf $(EXT_OUT) && mkdir -p $(EXT_OUT)/v1
	cp $(addprefix site/extension/,$(EXT_FILES)) $(EXT_OUT)/
	cp $(SITE_OUT)/toonid.js $(SITE_OUT)/worker.js $(SITE_OUT)/worker-live.js $(SITE_OUT)/live.js $(SITE_OUT)/live-ui.js $(SITE_OUT)/assets.js $(SITE_OUT)/wasm_exec.js $(SITE_OUT)/build.json $(SITE_OUT)/*.wasm $(EXT_OUT)/
	cp $(SITE_OUT)/verdict.js $(SITE_OUT)/taught.js $(SITE_OUT)/packio.js $(EXT_OUT)/
	node site/tools/icons.mjs $(EXT_OUT)/icons
	cp -r $(BUILD)/store/models $(BUILD)/store/packs $(EXT_OUT)/v1/
# The store's precompressed .br/.gz copies are for toonid serve; the extension reads its own files.
	find $(EXT_OUT)/v1 -type f \( -name '*.br' -o -name '*.gz' \) -delete
	@du -sh $(EXT_OUT)

test-extension: extension node_modules ## load the extension in headless Chromium and identify on a page
	nice node site/test/extension.mjs $(EXT_OUT)

# The extension as a product: icon, popup (last answer, teach, Wrong?), options
# (taught characters, export), export imported by the demo, content script pausing the video.
.PHONY: test-extension-product
test-extension-product: extension $(TOONID) node_modules ## headless Chromium: the extension's popup, options, export to the demo (screenshots in test-artifacts/extension)
	nice node site/test/extension-product.mjs $(EXT_OUT)

# Live names outside the demo: overlay.js on a plain page and the extension on pages (a video it
# reads, a cross-origin one through tab screenshots), on a clip made at test time; prints the
# frame rates; screenshots in test-artifacts/live-embed/.
.PHONY: test-live-embed
test-live-embed: extension $(TOONID) node_modules ## headless Chromium: live names in overlay.js and the extension follow a face; pause, click, card (screenshots in test-artifacts/live-embed)
	nice node site/test/live-embed.mjs $(EXT_OUT)
TEST_TARGETS += test-live-embed
