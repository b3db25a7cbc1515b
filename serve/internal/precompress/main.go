// Command precompress writes <file>.gz and <file>.br next to every compressible file of a
// built site (serve.Compressible: text and wasm), so toonid serve sends them by Accept-Encoding
// without compressing anything per request. It prints the bytes before and after.
//
//	go run ./serve/internal/precompress build/site
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/serve"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "precompress:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	var raw, gz, br int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !serve.Compressible(p) || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".br") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if len(b) < serve.MinCompress {
			return nil
		}
		var g bytes.Buffer
		zw, err := gzip.NewWriterLevel(&g, gzip.BestCompression)
		if err != nil {
			return err
		}
		zw.Write(b)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip %s: %w", p, err)
		}
		var bb bytes.Buffer
		bw := brotli.NewWriterLevel(&bb, brotli.BestCompression)
		bw.Write(b)
		if err := bw.Close(); err != nil {
			return fmt.Errorf("brotli %s: %w", p, err)
		}
		for _, out := range []struct {
			ext string
			b   []byte
		}{{".gz", g.Bytes()}, {".br", bb.Bytes()}} {
			// Written after the source, so the handler's "not older than the source" check holds.
			// Atomically: toonid serve may be serving this folder, and a half-written copy is
			// already newer than its source.
			if err := fsutil.WriteFileAtomic(p+out.ext, out.b, 0o644); err != nil {
				return err
			}
		}
		raw += int64(len(b))
		gz += int64(g.Len())
		br += int64(bb.Len())
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("precompress %s: %d bytes -> gzip %d, brotli %d\n", dir, raw, gz, br)
	return nil
}
