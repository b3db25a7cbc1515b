//go:build js && wasm

package main

import (
	"net/http"
	"syscall/js"
)

// headFix works around syumai/workers v0.32.0 turning any response with a positive
// Content-Length into a FixedLengthStream of that length: a HEAD response (no body)
// then fails in workerd with "FixedLengthStream did not see all expected bytes". For
// HEAD it sets a null JS body, so workerd sends the headers, Content-Length included,
// and drops whatever body the handler writes.
func headFix(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw, ok := w.(rawBodyWriter)
		if r.Method != http.MethodHead || !ok {
			h.ServeHTTP(w, r)
			return
		}
		rw.WriteRawJSBody(js.Null())
		h.ServeHTTP(headWriter{w}, r)
	})
}

type headWriter struct{ http.ResponseWriter }

// Write discards the body: nothing reads the response pipe once a raw body is set, so
// writing to it would block forever.
func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }
