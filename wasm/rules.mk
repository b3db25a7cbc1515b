# wasm/: the browser's module (main_js.go, a thin syscall/js shell over package bridge).
#   make test-wasm   the Go packages the browser runs (pack, identify, wasm/bridge) tested as
#                    js/wasm under node, with the SIMD128 kernels and with the scalar ones: the
#                    SIMD matcher scan (pack/scan_simd_wasm.go) only runs there. The model
#                    package's own wasm run is test-model-wasm.
.PHONY: test-wasm

WASM_TEST_PKGS := ./pack ./identify ./wasm/bridge
GO_JS_WASM_EXEC = "$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec"

test-wasm: ## the pack, identify and bridge tests as js/wasm under node, SIMD and scalar
	$(WASM_SIMD) $(GO) test -exec $(GO_JS_WASM_EXEC) $(WASM_TEST_PKGS)
	$(WASM_SCALAR) $(GO) test -exec $(GO_JS_WASM_EXEC) $(WASM_TEST_PKGS)

TEST_TARGETS += test-wasm
