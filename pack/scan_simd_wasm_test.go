//go:build wasm && goexperiment.simd

package pack

import "testing"

// Run with: GOEXPERIMENT=simd GOOS=js GOARCH=wasm go test ./pack -run SIMD -exec $(go env GOROOT)/lib/wasm/go_js_wasm_exec
func TestScanSIMDMatchesScan1(t *testing.T) {
	// The int16 query adds at most ~1e-4 of error to a cosine.
	checkScanMatchesScan1(t, scan, 41, 150, 128, 2e-4)
}
