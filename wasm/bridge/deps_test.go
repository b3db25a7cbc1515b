package bridge

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// The browser downloads everything the wasm module links, so test-only code must stay out of it:
// testing/fstest once came in through the pack loader (with testing/iotest behind it). This
// asks the go command what ./wasm links, for both builds the site ships (the experiments of the
// Makefile's WASM_SCALAR and WASM_SIMD). Those build encoding/json from its own v1 code: the
// v2-backed default adds 196 KB of brotli to every first visit, so v2 linking again (a new
// import of encoding/json/v2 or jsontext) fails here too.
func TestBrowserWasmLinksNoTestingPackages(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs the go command; the native run checks the js/wasm build")
	}
	gocmd, err := exec.LookPath("go") // go test puts its own toolchain first on PATH
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, experiment := range []string{"nojsonv2", "simd,nojsonv2"} {
		t.Run("GOEXPERIMENT="+experiment, func(t *testing.T) {
			cmd := exec.Command(gocmd, "list", "-deps", "github.com/toonid/toonid/wasm")
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+experiment)
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("go list -deps: %v\n%s", err, stderr)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list -deps listed only %v", deps)
			}
			for _, d := range deps {
				if d == "testing" || strings.HasPrefix(d, "testing/") {
					t.Errorf("the browser wasm links %s", d)
				}
				if d == "encoding/json/v2" || d == "encoding/json/jsontext" {
					t.Errorf("the browser wasm links %s (json v2)", d)
				}
			}
		})
	}
}
