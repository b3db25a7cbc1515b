// Command precompress writes <file>.gz and <file>.br next to every compressible file of a
// built site (serve.Compressible: text and wasm), so toonid serve sends them by Accept-Encoding
// without compressing anything per request. It prints the bytes before and after.
//
//	go run ./serve/internal/precompress build/site
//	go run ./serve/internal/precompress -store build/store
//
// With -store the folder is a store (serve/API.md): its content-addressed models and pack shards
// get copies, kept only where they save at least minSaving (an int8 model shrinks ~14% with
// brotli, a shard ~10%); thumbnails (JPEG) and mutable files (served gzip-compressed per request)
// get none.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/serve"
)

// minSaving is the smallest saving (a fraction of the file) a store copy must give to be kept.
const minSaving = 0.03

func main() {
	store := flag.Bool("store", false, "DIR is a store: compress its models and pack shards")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: precompress [-store] DIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *store); err != nil {
		fmt.Fprintln(os.Stderr, "precompress:", err)
		os.Exit(1)
	}
}

// storeCompressible reports whether a store file gets copies: a content-addressed model or shard
// (never an image, never a mutable file).
func storeCompressible(rel string) bool {
	base := filepath.Base(rel)
	sum, ext, ok := strings.Cut(base, ".")
	if !ok || len(sum) != 64 || strings.Contains(ext, ".") {
		return false
	}
	return ext == "tmdl" || ext == "tps"
}

func run(dir string, store bool) error {
	var raw, gz, br int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".br") {
			return nil
		}
		if rel, _ := filepath.Rel(dir, p); store && !storeCompressible(rel) || !store && !serve.Compressible(p) {
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
			if store && float64(len(out.b)) > float64(len(b))*(1-minSaving) {
				os.Remove(p + out.ext) // not worth it: the identity copy answers
				continue
			}
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
