package main

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/toonid/toonid/internal/teststore"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/serve"
	"github.com/toonid/toonid/tools/eval"
)

// buildCases writes every hostile input under dir and returns the cases that feed them to the
// entry points. What it writes is made before any case runs, so a case's allocations are only
// the entry point's.
func buildCases(dir string) ([]kase, error) {
	store := filepath.Join(dir, "store")
	modelKey, err := teststore.Write(store, "default")
	if err != nil {
		return nil, err
	}
	modelBytes, err := os.ReadFile(filepath.Join(store, filepath.FromSlash(modelKey)))
	if err != nil {
		return nil, err
	}
	var cases []kase
	cases = append(cases, modelCases(modelBytes)...)
	pc, err := packCases(dir, filepath.Join(store, "packs", "default"))
	if err != nil {
		return nil, err
	}
	cases = append(cases, pc...)
	ic, err := imageCases(filepath.Join(dir, "images"))
	if err != nil {
		return nil, err
	}
	cases = append(cases, ic...)
	sc, err := serveCases(dir, store, modelKey)
	if err != nil {
		return nil, err
	}
	return append(cases, sc...), nil
}

// reseal rewrites a model's checksum (bytes 8..40: the sha256 of everything after byte 40), so
// a mutant reaches the decoder instead of stopping at the checksum.
func reseal(b []byte) []byte {
	if len(b) >= 40 {
		s := sha256.Sum256(b[40:])
		copy(b[8:40], s[:])
	}
	return b
}

func modelCases(valid []byte) []kase {
	load := func(b []byte) func(int) error {
		return func(int) error { _, err := model.Load(b); return err }
	}
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	// Every byte after the checksum flipped (xor 0xff, then xor 0x01), resealed.
	var flips [][]byte
	for i := 40; i < len(valid); i++ {
		for _, x := range []byte{0xff, 0x01} {
			b := bytes.Clone(valid)
			b[i] ^= x
			flips = append(flips, reseal(b))
		}
	}
	// Every u32 of the header and the op and tensor tables set to values that size
	// allocations (0, 1<<31-1, 1<<32-1, 1<<20, 4097), resealed.
	dataOff := int(binary.LittleEndian.Uint32(valid[88:]))
	var fields [][]byte
	for off := 40; off+4 <= min(dataOff, len(valid)); off += 4 {
		for _, v := range []uint32{0, 1<<31 - 1, 1<<32 - 1, 1 << 20, 4097} {
			b := bytes.Clone(valid)
			binary.LittleEndian.PutUint32(b[off:], v)
			fields = append(fields, reseal(b))
		}
	}
	// Cut at every length below the file's.
	cut := func(i int) error { _, err := model.Load(valid[:i]); return err }
	const entry = "model.Load"
	return []kase{
		{entry: entry, input: fmt.Sprintf("a valid int8 model (%d bytes)", len(valid)), want: accept, run: load(valid)},
		{entry: entry, input: "empty file", want: refuse, run: load(nil)},
		{entry: entry, input: "the file cut at every shorter length", want: refuse, n: len(valid), run: cut},
		{entry: entry, input: "wrong magic", want: refuse, run: load(with(func(b []byte) []byte { copy(b, "TMDX"); return b }))},
		{entry: entry, input: "version 3 (newer than the reader)", want: refuse, run: load(with(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 3); return b }))},
		{entry: entry, input: "version 0", want: refuse, run: load(with(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 0); return b }))},
		{entry: entry, input: "one weight byte changed, checksum not resealed", want: refuse, run: load(with(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }))},
		{entry: entry, input: "16 MiB of zeros after a valid header, resealed", want: refuse,
			run: load(reseal(append(bytes.Clone(valid[:128]), make([]byte, 16<<20)...))), maxAlloc: 48 << 20},
		{entry: entry, input: "every byte after the checksum flipped (xor 0xff, xor 0x01), resealed", want: either, n: len(flips),
			run: func(i int) error { _, err := model.Load(flips[i]); return err }},
		{entry: entry, input: "every header/table u32 set to 0, 2^31-1, 2^32-1, 2^20 or 4097, resealed", want: either, n: len(fields),
			run: func(i int) error { _, err := model.Load(fields[i]); return err }},
	}
}

// packCases writes variants of the valid pack in src, each in its own folder, and opens each
// as the CLI and the server's readers do (pack.Open, with the model's checksum).
func packCases(dir, src string) ([]kase, error) {
	manifest, err := os.ReadFile(filepath.Join(src, pack.ManifestFile))
	if err != nil {
		return nil, err
	}
	valid, err := pack.DecodeManifest(manifest)
	if err != nil {
		return nil, err
	}
	ref := valid.Shards[0]
	shard, err := os.ReadFile(filepath.Join(src, ref.File))
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "packs")
	n := 0
	// variant writes a pack folder: the manifest (raw bytes, or the valid one edited as JSON)
	// and the shard, unless files says otherwise.
	variant := func(raw []byte, edit func(m map[string]any), files map[string][]byte) (string, error) {
		n++
		d := filepath.Join(root, fmt.Sprint(n))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
		if raw == nil {
			var m map[string]any
			if err := json.Unmarshal(manifest, &m); err != nil {
				return "", err
			}
			if edit != nil {
				edit(m)
			}
			if raw, err = json.Marshal(m); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(d, pack.ManifestFile), raw, 0o644); err != nil {
			return "", err
		}
		if files == nil {
			files = map[string][]byte{ref.File: shard}
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
				return "", err
			}
		}
		return d, nil
	}
	open := func(d string) func(int) error {
		return func(int) error {
			_, err := pack.Open(os.DirFS(d), pack.OpenOptions{ModelSHA256: valid.ModelSHA256})
			return err
		}
	}
	shardField := func(k string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["shards"].([]any)[0].(map[string]any)[k] = v }
	}
	label := func(name string) func(m map[string]any) {
		return func(m map[string]any) { m["labels"].([]any)[0].(map[string]any)["name"] = name }
	}
	type spec struct {
		input    string
		raw      []byte
		edit     func(m map[string]any)
		files    map[string][]byte
		want     want
		maxAlloc uint64
	}
	// The manifest bomb of the audit: just under MaxManifestSize of "{}," labels (22 M), which
	// cost 5.86 GB when the labels were decoded before they were counted.
	bomb := []byte(`{"format":"toonid-pack","version":1,"labels":[`)
	for len(bomb)+3 < pack.MaxManifestSize-2 {
		bomb = append(bomb, "{},"...)
	}
	bomb = append(bomb[:len(bomb)-1], "]}"...)
	over := append(bytes.Clone(manifest), bytes.Repeat([]byte(" "), pack.MaxManifestSize)...)
	manyShards := []byte(`{"format":"toonid-pack","version":1,"shards":[` + strings.Repeat(`{},`, pack.MaxShards) + `{}]}`)
	flipped := bytes.Clone(shard)
	flipped[len(flipped)/2] ^= 1
	specs := []spec{
		{input: "the valid pack", want: accept},
		{input: "manifest.json empty", raw: []byte{}},
		{input: "manifest.json not JSON", raw: []byte("<html>not found</html>")},
		{input: "manifest.json `null`", raw: []byte("null")},
		{input: "manifest.json cut in half", raw: manifest[:len(manifest)/2]},
		{input: "format other than toonid-pack", edit: func(m map[string]any) { m["format"] = "zip" }},
		{input: "version 2 (newer than the reader)", edit: func(m map[string]any) { m["version"] = 2 }},
		{input: fmt.Sprintf("%d MiB manifest of %d M labels (memory bomb)", len(bomb)>>20, (len(bomb)/3)/1_000_000), raw: bomb, maxAlloc: 128 << 20},
		{input: "manifest.json over MaxManifestSize (64 MiB + 1 KiB)", raw: over},
		{input: fmt.Sprintf("%d shard references (over MaxShards)", pack.MaxShards+1), raw: manyShards, maxAlloc: 32 << 20},
		{input: "ivf.count 2^31-1 (a list table of 2^31 entries)", edit: func(m map[string]any) {
			s := m["shards"].([]any)[0].(map[string]any)
			m["ivf"] = map[string]any{"file": s["file"], "bytes": s["bytes"], "sha256": s["sha256"], "count": 1<<31 - 1, "list": -1, "nprobe": 1}
		}},
		{input: "zero shards", edit: func(m map[string]any) { m["shards"] = []any{} }},
		{input: "built for another model", edit: func(m map[string]any) { m["model_sha256"] = strings.Repeat("0", 64) }},
		{input: "embed_dim 2^31-1", edit: func(m map[string]any) { m["embed_dim"] = 1<<31 - 1 }},
		{input: "label count 2^31-1 in a shard reference", edit: shardField("count", 1<<31-1)},
		{input: "shard file missing", files: map[string][]byte{}},
		{input: "shard with one byte changed (sha256 mismatch)", files: map[string][]byte{ref.File: flipped}},
		{input: "shard truncated (size mismatch)", files: map[string][]byte{ref.File: shard[:len(shard)-1]}},
		{input: "shard size claimed 1 TiB", edit: shardField("bytes", int64(1)<<40)},
		{input: "shard file `../x.tps`", edit: shardField("file", "../x.tps")},
		{input: "shard file `/etc/passwd`", edit: shardField("file", "/etc/passwd")},
		{input: "shard file `sub/x.tps`", edit: shardField("file", "sub/x.tps")},
		{input: "shard file `a\\b.tps` (backslash)", edit: shardField("file", `a\b.tps`)},
		{input: "shard file `.hidden.tps`", edit: shardField("file", ".hidden.tps")},
		{input: "shard file 4 KiB long", edit: shardField("file", strings.Repeat("a", 4096)+".tps")},
		{input: "label name with terminal escapes (ESC [2J)", edit: label("x\x1b[2Jy")},
		{input: "label name with a bidi override (U+202E)", edit: label("x\u202ey")},
		{input: "label name with a byte of invalid UTF-8", raw: bytes.Replace(manifest, []byte("Character 0"), []byte("Character \xff"), 1)},
		{input: "threshold NaN-like string", edit: func(m map[string]any) { m["threshold"] = "NaN" }},
	}
	var cases []kase
	for _, s := range specs {
		d, err := variant(s.raw, s.edit, s.files)
		if err != nil {
			return nil, err
		}
		cases = append(cases, kase{entry: "pack.Open", input: s.input, want: s.want, run: open(d), maxAlloc: s.maxAlloc})
	}
	if d, err := fifoPack(filepath.Join(root, "fifo"), ref.File, shard); err == nil {
		cases = append(cases, kase{entry: "pack.Open", input: "manifest.json a FIFO (would block a reader)", want: refuse, run: open(d)})
	} else if err != errNoFIFO {
		return nil, err
	}
	// The shard decoder on resealed mutants: every byte of the shard flipped, the manifest's
	// sha256 and size updated, so each mutant reaches DecodeShard.
	var mutants [][]byte
	for i := range shard {
		for _, x := range []byte{0xff, 0x01} {
			b := bytes.Clone(shard)
			b[i] ^= x
			mutants = append(mutants, b)
		}
	}
	cases = append(cases, kase{entry: "Manifest.DecodeShard", input: "every shard byte flipped (xor 0xff, xor 0x01), sha256 and size updated", want: either, n: len(mutants),
		run: func(i int) error {
			r := ref
			s := sha256.Sum256(mutants[i])
			r.SHA256, r.Bytes = hex.EncodeToString(s[:]), int64(len(mutants[i]))
			_, err := valid.DecodeShard(r, mutants[i])
			return err
		}})
	return cases, nil
}

// pngChunk appends one PNG chunk with its CRC.
func pngChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// pngZeros is a w x h PNG of the given depth and colour type whose every row is zero, written
// row by row (the compressed file is small; the decoded image is not).
func pngZeros(w, h int, depth, colorType byte) ([]byte, error) {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	channels := map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[colorType]
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	row := make([]byte, 1+w*channels*int(depth)/8)
	for range h {
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	out = pngChunk(out, "IHDR", ihdr)
	out = pngChunk(out, "IDAT", z.Bytes())
	return pngChunk(out, "IEND", nil), nil
}

func imageCases(dir string) ([]kase, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	small := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range small.Pix {
		small.Pix[i] = byte(i)
	}
	var smallPNG, smallJPEG bytes.Buffer
	if err := png.Encode(&smallPNG, small); err != nil {
		return nil, err
	}
	if err := jpeg.Encode(&smallJPEG, small, nil); err != nil {
		return nil, err
	}
	exif := func(payload []byte) []byte {
		seg := append([]byte{0xff, 0xe1, 0, 0}, payload...)
		binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
		return append(append(bytes.Clone(smallJPEG.Bytes()[:2]), seg...), smallJPEG.Bytes()[2:]...)
	}
	rotated := exif([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00"))
	lyingEXIF := exif([]byte("Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0"))
	header := func(w, h int) []byte { // a PNG that is only its IHDR: the size check needs no more
		ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
		ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
		return pngChunk(pngChunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", append(ihdr, 8, 6, 0, 0, 0)), "IEND", nil)
	}
	bomb16, err := pngZeros(6324, 6324, 16, 6) // 40.0 M pixels, under the pixel cap; 8 bytes a pixel decoded
	if err != nil {
		return nil, err
	}
	big8, err := pngZeros(3000, 3000, 8, 6) // accepted: what a large but legitimate image costs
	if err != nil {
		return nil, err
	}
	// SOI, a JFIF APP0 (so the header is the whole config) and a frame header.
	jpegHeader := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xc0, 0, 17, 8, 0xff, 0xdc, 0xff, 0xdc, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	gifHeader := append([]byte("GIF89a"), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, ';')
	badCRC := bytes.Clone(smallPNG.Bytes())
	badCRC[len(badCRC)-20] ^= 1
	type spec struct {
		input    string
		data     []byte
		want     want
		maxAlloc uint64
	}
	specs := []spec{
		{input: "a 64x48 PNG", data: smallPNG.Bytes(), want: accept},
		{input: "a 64x48 JPEG turned by EXIF orientation 6", data: rotated, want: accept},
		{input: "a JPEG whose EXIF block points past its end", data: lyingEXIF, want: accept},
		{input: "a 3000x3000 8-bit PNG (large, legitimate)", data: big8, want: accept, maxAlloc: 80 << 20},
		{input: "empty file", data: nil},
		{input: "text (an HTML error page)", data: []byte("<html><body>404</body></html>")},
		{input: "a PNG cut in half", data: smallPNG.Bytes()[:smallPNG.Len()/2]},
		{input: "a PNG with a bad CRC", data: badCRC},
		{input: "PNG header claiming 60000x60000", data: header(60000, 60000)},
		{input: fmt.Sprintf("%d KB 16-bit PNG of 6324x6324 (decode-memory bomb under the pixel cap)", len(bomb16)/1000), data: bomb16},
		{input: "JPEG header claiming 65500x65500", data: jpegHeader},
		{input: "GIF header claiming 65535x65535", data: gifHeader},
	}
	var cases []kase
	for i, s := range specs {
		p := filepath.Join(dir, fmt.Sprintf("%d.img", i))
		if err := os.WriteFile(p, s.data, 0o644); err != nil {
			return nil, err
		}
		cases = append(cases, kase{entry: "eval.LoadImage", input: s.input, want: s.want, maxAlloc: s.maxAlloc,
			run: func(int) error { _, err := eval.LoadImage(p, 0); return err }})
	}
	cases = append(cases, kase{entry: "eval.LoadImage", input: "a directory named as an image", want: refuse,
		run: func(int) error { _, err := eval.LoadImage(dir, 0); return err }})
	if p, err := fifo(filepath.Join(dir, "fifo.png")); err == nil {
		cases = append(cases, kase{entry: "eval.LoadImage", input: "a FIFO named as an image (would block a reader)", want: refuse,
			run: func(int) error { _, err := eval.LoadImage(p, 0); return err }})
	} else if err != errNoFIFO {
		return nil, err
	}
	return cases, nil
}

// serveCases runs requests through the local server's handler (the API over the store, the
// static site beside it), as `toonid serve` builds it. A request is refused when it gets a 4xx;
// a 5xx is an error the row reports.
func serveCases(dir, store, modelKey string) ([]kase, error) {
	site := filepath.Join(dir, "site")
	for name, body := range map[string]string{"index.html": "<!doctype html>", ".env": "SECRET=1", "sub/a.js": "//"} {
		p := filepath.Join(site, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	outside := filepath.Join(dir, "outside.txt")
	if err := os.WriteFile(outside, []byte("outside the site"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Symlink(outside, filepath.Join(site, "out.txt")); err != nil {
		return nil, err
	}
	st, err := serve.Dir(store)
	if err != nil {
		return nil, err
	}
	root, err := serve.OpenRoot(site)
	if err != nil {
		return nil, err
	}
	h := serve.WithSite(serve.New(st, serve.Options{AllowedOrigins: []string{"http://127.0.0.1:8080"}}), serve.Site(root.FS()))
	type spec struct {
		input, method, path string
		header              http.Header
		want                want
		status              int // the status an accepted request must get (default 200)
	}
	specs := []spec{
		{input: "GET the model", path: "/v1/" + modelKey, want: accept},
		{input: "GET the manifest", path: "/v1/packs/default/manifest.json", want: accept},
		{input: "GET the site's index.html", path: "/", want: accept},
		{input: "Range `bytes=0-1,2-3` (multi-range: the whole file)", path: "/v1/" + modelKey, header: http.Header{"Range": {"bytes=0-1,2-3"}}, want: accept},
		{input: "Range `bytes=99999999-` (past the end)", path: "/v1/" + modelKey, header: http.Header{"Range": {"bytes=99999999-"}}},
		{input: "`/v1/packs/../models/<checksum>.tmdl` (dot segments resolved inside /v1/, as the Worker's URL parser does)", path: "/v1/packs/../" + modelKey, want: accept},
		{input: "`/v1/../../outside.txt` traversal", path: "/v1/../../outside.txt"},
		{input: "`/v1/packs/default/../../../../outside.txt` traversal", path: "/v1/packs/default/../../../../outside.txt"},
		{input: "`%2e%2e` traversal", path: "/v1/packs/%2e%2e/" + modelKey},
		{input: "`..%2f` traversal", path: "/v1/packs/default/..%2f..%2f..%2fetc%2fpasswd"},
		{input: "backslashes (`/v1/packs\\default\\manifest.json`)", path: `/v1/packs\default\manifest.json`},
		{input: "NUL in the path", path: "/v1/packs/default/manifest.json%00"},
		{input: "a 4 KiB file name", path: "/v1/packs/default/" + strings.Repeat("a", 4096)},
		{input: "a model name that is not a checksum", path: "/v1/models/passwd.tmdl"},
		{input: "a pack that does not exist", path: "/v1/packs/nope/manifest.json"},
		{input: "PUT the manifest", method: http.MethodPut, path: "/v1/packs/default/manifest.json"},
		{input: "preflight asking for `range, x-evil`", method: http.MethodOptions, path: "/v1/" + modelKey,
			header: http.Header{"Origin": {"http://127.0.0.1:8080"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range, x-evil"}}},
		{input: "site dotfile `/.env`", path: "/.env"},
		{input: "site directory `/sub` (no listing)", path: "/sub"},
		{input: "site symlink leading out", path: "/out.txt"},
		{input: "site `/../outside.txt`", path: "/../outside.txt"},
		{input: "site 4 KiB name", path: "/" + strings.Repeat("b", 4096) + ".js"},
	}
	var cases []kase
	for _, s := range specs {
		cases = append(cases, kase{entry: "serve handler", input: s.input, want: s.want, run: func(int) error {
			method := s.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "/", nil)
			req.URL.RawPath = ""
			req.URL.Path, req.RequestURI = s.path, s.path
			if u, err := req.URL.Parse(s.path); err == nil && !strings.Contains(s.path, `\`) {
				req.URL = u
			}
			for k, v := range s.header {
				req.Header[k] = v
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			io.Copy(io.Discard, w.Result().Body)
			code := w.Code
			want := s.status
			if want == 0 {
				want = http.StatusOK
			}
			switch {
			case code >= 500:
				panic(fmt.Sprintf("HTTP %d", code)) // counted with the panics: it must not happen
			case code >= 400:
				return fmt.Errorf("HTTP %d", code)
			case s.want == accept && code != want:
				return fmt.Errorf("HTTP %d, want %d", code, want)
			}
			return nil
		}})
	}
	return cases, nil
}

// errNoFIFO: this OS has no named pipes; the FIFO rows are left out.
var errNoFIFO = errors.New("no FIFOs on this OS")

// fifoPack is a pack folder whose manifest.json is a FIFO.
func fifoPack(d, shardName string, shard []byte) (string, error) {
	if _, err := fifo(filepath.Join(d, pack.ManifestFile)); err != nil {
		return "", err
	}
	return d, os.WriteFile(filepath.Join(d, shardName), shard, 0o644)
}
