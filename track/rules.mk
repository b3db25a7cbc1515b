# The face tracker for live mode: package track, pure Go. Its native tests run
# in test-go / test-go-scalar (./...); this adds the js/wasm run the browser's build will need.
# make test-track-wasm   the tracker's tests as js/wasm under node, SIMD build and scalar
# make bench-track       one frame with 6 faces, natively and as js/wasm
GO_JS_WASM_EXEC_TRACK = "$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec"
.PHONY: test-track-wasm bench-track
test-track-wasm: ## the tracker's tests as js/wasm under node, SIMD build and scalar
	$(SIMD) GOOS=js GOARCH=wasm $(GO) test -exec $(GO_JS_WASM_EXEC_TRACK) ./track
	GOOS=js GOARCH=wasm $(GO) test -exec $(GO_JS_WASM_EXEC_TRACK) ./track
TEST_TARGETS += test-track-wasm

bench-track: ## the tracker: one frame with 6 faces (256-d embeddings), natively and as js/wasm
	$(SIMD) $(GO) test -run '^$$' -bench Update6Faces ./track
	$(SIMD) GOOS=js GOARCH=wasm $(GO) test -exec $(GO_JS_WASM_EXEC_TRACK) -run '^$$' -bench Update6Faces ./track
