# Live mode in the browser: make bench-live plays a real clip in headless Chromium with live mode
# on (site/live.js) and prints fps, latency, label coverage and label switches (last line JSON).
# LIVE_VIDEO (default ../shared/data/video/sintel_trailer_848x480.mp4), LIVE_EVERY (default 1,2).
.PHONY: bench-live bench-live-go
bench-live: site default-pack store-detector $(TOONID) node_modules ## live mode on the Sintel trailer in headless Chromium: fps, latency_ms, label_coverage, label_switches_per_min (last line JSON)
	nice node site/test/bench-live.mjs
BENCH_TARGETS += bench-live

bench-live-go: ## one live step natively (shipped detector + embedder, a Sintel frame), detecting every frame vs every 2nd
	$(SIMD) $(GO) test -run '^$$' -bench Step ./live

.PHONY: test-live-browser
test-live-browser: site default-pack store-detector $(TOONID) node_modules ## headless Chromium: teach from a generated video, identify at another time, live names follow the sprite (screenshots in test-artifacts/live)
	nice node site/test/live-e2e.mjs
TEST_TARGETS += test-live-browser
