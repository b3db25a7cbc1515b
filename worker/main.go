//go:build js && wasm

// Command worker is the toonid Cloudflare Worker: the serve handler in front of an R2
// bucket. It holds no serving logic of its own; everything the local server does, it
// does, because both run serve.New.
//
// Build and run (see worker/rules.mk): make worker-build; make worker-dev.
package main

import (
	"strings"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"github.com/toonid/toonid/serve"
)

// bindingName is the R2 binding in wrangler.toml; named once, here and there.
const bindingName = "STORE"

func main() {
	var origins []string
	for _, o := range strings.Split(cloudflare.Getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	store := r2Store{bucket: cloudflare.GetBinding(bindingName)}
	workers.Serve(headFix(serve.New(store, serve.Options{AllowedOrigins: origins, Log: newLogger(), Identity: true})))
}
