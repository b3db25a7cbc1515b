package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite testdata/small from the test pack")

const testModel = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// clustered makes n characters, each with per images scattered around its own random unit centre.
func clustered(rng *rand.Rand, n, per, dim int, noise float64) ([]Label, [][][]float32, [][]float32) {
	labels := make([]Label, n)
	embs := make([][][]float32, n)
	centres := make([][]float32, n)
	for i := range labels {
		labels[i] = Label{ID: "c" + strconv.Itoa(i), Name: "Character " + strconv.Itoa(i), Series: "s" + strconv.Itoa(i%3)}
		centres[i] = randUnit(rng, dim)
		for j := 0; j < per; j++ {
			embs[i] = append(embs[i], jitter(rng, centres[i], noise))
		}
	}
	return labels, embs, centres
}

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	n, _ := normalized(v, dim)
	return n
}

func jitter(rng *rand.Rand, c []float32, noise float64) []float32 {
	v := make([]float32, len(c))
	for i := range v {
		v[i] = c[i] + float32(noise*rng.NormFloat64()/math.Sqrt(float64(len(c))))
	}
	n, _ := normalized(v, len(c))
	return n
}

func smallPack(t testing.TB) (*Pack, [][]float32) {
	rng := rand.New(rand.NewPCG(7, 7))
	labels, embs, centres := clustered(rng, 6, 5, 16, 0.3)
	p, err := Build(labels, embs, BuildOptions{Name: "small", ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	return p, centres
}

func mapFS(m *Manifest, files map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{}
	for n, b := range files {
		fsys[n] = &fstest.MapFile{Data: b}
	}
	mb, _ := MarshalManifest(m)
	fsys[ManifestFile] = &fstest.MapFile{Data: mb}
	return fsys
}

func TestRoundTrip(t *testing.T) {
	p, centres := smallPack(t)
	m, files, err := p.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shards) != 1 || m.Shards[0].Count != p.Rows() {
		t.Fatalf("shards %+v, want one shard of %d rows", m.Shards, p.Rows())
	}
	q, err := Open(mapFS(m, files), OpenOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if q.Rows() != p.Rows() || len(q.Labels) != len(p.Labels) || q.Threshold != p.Threshold || q.Name != "small" {
		t.Fatalf("reopened pack differs: rows %d/%d labels %d/%d", q.Rows(), p.Rows(), len(q.Labels), len(p.Labels))
	}
	if !bytes.Equal(i8bytes(q.lists[0].Data), i8bytes(p.lists[0].Data)) {
		t.Fatal("reopened rows differ")
	}
	mt, err := NewMatcher(q)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range centres {
		r, err := mt.Match(c, 3)
		if err != nil {
			t.Fatal(err)
		}
		if r.Answers[0].ID != p.Labels[i].ID || r.Answers[0].Score < 0.8 {
			t.Errorf("centre %d: got %+v", i, r.Answers[0])
		}
	}
	if *update {
		dir := filepath.Join("testdata", "small")
		os.RemoveAll(dir)
		if _, err := p.WriteDir(dir, EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
		// A fuzz seed with a coarse level and series-split shards.
		rng := rand.New(rand.NewPCG(8, 8))
		labels, embs, _ := clustered(rng, 12, 2, 8, 0.3)
		q, err := Build(labels, embs, BuildOptions{Name: "ivf", ModelSHA256: testModel, IVFLists: 3, NProbe: 2})
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join("testdata", "ivf")
		os.RemoveAll(dir)
		if _, err := q.WriteDir(dir, EncodeOptions{SplitSeries: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func i8bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestWriteDirAndOpenDir(t *testing.T) {
	p, _ := smallPack(t)
	dir := t.TempDir()
	m, err := p.WriteDir(dir, EncodeOptions{ShardRows: 7, SplitSeries: true})
	if err != nil {
		t.Fatal(err)
	}
	// 3 series; every shard of one series only, at most 7 rows.
	series := map[string]int{}
	for _, s := range m.Shards {
		if s.Count > 7 {
			t.Errorf("shard %s has %d rows, cap 7", s.File, s.Count)
		}
		series[s.Series] += s.Count
	}
	if len(series) != 3 {
		t.Errorf("series %v, want 3", series)
	}
	// The directory holds the manifest and its shards, nothing else (no temporary files).
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1+len(m.Shards) {
		t.Errorf("%d files in the pack directory, want the manifest and %d shards", len(ents), len(m.Shards))
	}
	for _, e := range ents {
		if e.Name() != ManifestFile && !strings.HasSuffix(e.Name(), ShardExt) {
			t.Errorf("stray file %s in the pack directory", e.Name())
		}
	}
	all, err := Open(os.DirFS(dir), OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := Open(os.DirFS(dir), OpenOptions{Series: []string{"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	if all.Rows() != p.Rows() || one.Rows() != series["s1"] {
		t.Fatalf("rows all=%d (want %d) s1=%d (want %d)", all.Rows(), p.Rows(), one.Rows(), series["s1"])
	}
	for i := 0; i < one.lists[0].Len(); i++ {
		if s := one.Labels[one.lists[0].Labels[i]].Series; s != "s1" {
			t.Fatalf("series filter loaded a row of %q", s)
		}
	}
}

func TestModelMismatch(t *testing.T) {
	p, _ := smallPack(t)
	m, files, _ := p.Encode(EncodeOptions{})
	other := strings.Repeat("f", 64)
	_, err := Open(mapFS(m, files), OpenOptions{ModelSHA256: other})
	if !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), testModel) {
		t.Fatalf("err = %v, want a model mismatch naming both hashes", err)
	}
}

func TestOpenRejects(t *testing.T) {
	p, _ := smallPack(t)
	m, files, _ := p.Encode(EncodeOptions{})
	shard := m.Shards[0].File
	tests := []struct {
		name   string
		mutate func(m *Manifest, fsys fstest.MapFS)
		want   string
	}{
		{"missing shard", func(m *Manifest, fsys fstest.MapFS) { delete(fsys, shard) }, "file does not exist"},
		{"truncated shard", func(m *Manifest, fsys fstest.MapFS) {
			fsys[shard].Data = fsys[shard].Data[:40]
		}, "manifest says"},
		{"corrupt shard", func(m *Manifest, fsys fstest.MapFS) {
			d := bytes.Clone(fsys[shard].Data)
			d[len(d)-1] ^= 1
			fsys[shard].Data = d
		}, "sha256"},
		{"shard larger than manifest says", func(m *Manifest, fsys fstest.MapFS) {
			fsys[shard].Data = append(bytes.Clone(fsys[shard].Data), 0)
		}, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := mapFS(m, files)
			for k, v := range fsys {
				fsys[k] = &fstest.MapFile{Data: v.Data}
			}
			tc.mutate(m, fsys)
			_, err := Open(fsys, OpenOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeManifestRejects(t *testing.T) {
	p, _ := smallPack(t)
	good, _, _ := p.Encode(EncodeOptions{})
	tests := []struct {
		name   string
		mutate func(m *Manifest)
		want   string
	}{
		{"format", func(m *Manifest) { m.Format = "zip" }, "format"},
		{"version", func(m *Manifest) { m.Version = 2 }, "unsupported version 2"},
		{"model sha", func(m *Manifest) { m.ModelSHA256 = "abc" }, "model_sha256"},
		{"dim", func(m *Manifest) { m.EmbedDim = 1 << 20 }, "embed_dim"},
		{"quant", func(m *Manifest) { m.Quantization = "f16" }, "quantization"},
		{"threshold", func(m *Manifest) { m.Threshold = 7 }, "threshold"},
		{"dup id", func(m *Manifest) { m.Labels = append(m.Labels, m.Labels[0]) }, "duplicate id"},
		{"empty id", func(m *Manifest) { m.Labels[0].ID = "" }, "id must be"},
		{"hostile thumbnail", func(m *Manifest) { m.Labels[0].Thumbnail = "../../etc/passwd" }, "thumbnail file name"},
		{"thumbnail not content-addressed", func(m *Manifest) { m.Labels[0].Thumbnail = "red.jpg" }, "thumbnail file name"},
		{"thumbnail upper-case hex", func(m *Manifest) { m.Labels[0].Thumbnail = strings.Repeat("AB", 32) + ".jpg" }, "thumbnail file name"},
		{"thumbnail png", func(m *Manifest) { m.Labels[0].Thumbnail = strings.Repeat("ab", 32) + ".png" }, "thumbnail file name"},
		{"hostile shard name", func(m *Manifest) { m.Shards[0].File = "../x.tps" }, "must be named"},
		{"bytes vs count", func(m *Manifest) { m.Shards[0].Bytes++ }, "need"},
		{"huge count", func(m *Manifest) { m.Shards[0].Count = 1 << 40 }, "out of range"},
		{"list without ivf", func(m *Manifest) { m.Shards[0].List = 3 }, "no ivf"},
		{"dup shard", func(m *Manifest) { m.Shards = append(m.Shards, m.Shards[0]) }, "duplicate file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := MarshalManifest(good)
			m, err := DecodeManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, _ = MarshalManifest(m)
			_, err = DecodeManifest(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeManifest([]byte(`{"format":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
	// A byte of invalid UTF-8 in a label: encoding/json would decode it as U+FFFD, so the rule
	// is checked on the bytes.
	b, _ := MarshalManifest(good)
	name := good.Labels[0].Name
	bad := bytes.Replace(b, []byte(`"`+name+`"`), []byte(`"`+name+"\xff"+`"`), 1)
	if bytes.Equal(bad, b) {
		t.Fatalf("label name %q not found in the manifest", name)
	}
	if _, err := DecodeManifest(bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8 label: err = %v", err)
	}
}

func TestDecodeShardRejects(t *testing.T) {
	s := &Shard{Dim: 4}
	s.Quantize(0, []float32{0.5, -0.5, 0.5, -0.5})
	s.Quantize(1, []float32{1, 0, 0, 0})
	good, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeShard(good, 4, 2, 2); err != nil {
		t.Fatalf("good shard: %v", err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		{"version", mod(func(b []byte) []byte { b[4] = 9; return b }), "unsupported version 9"},
		{"dim zero", mod(func(b []byte) []byte { b[8] = 0; return b }), "dim 0"},
		{"huge count", mod(func(b []byte) []byte { b[15] = 0x7f; return b }), "count"},
		{"quant", mod(func(b []byte) []byte { b[16] = 7; return b }), "quantization id 7"},
		{"truncated body", good[:len(good)-1], "size"},
		{"label out of range", mod(func(b []byte) []byte { b[32] = 5; return b }), "label index 5"},
		{"nan scale", mod(func(b []byte) []byte { copy(b[40:], []byte{0, 0, 0xc0, 0x7f}); return b }), "bad scale"},
		{"quant 2 without room for a centre", mod(func(b []byte) []byte { b[16] = 2; return b }), "needs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeShard(tc.b, 4, 2, 2)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestResidualShardRoundTrip(t *testing.T) {
	s := &Shard{Dim: 4, Centre: []float32{0.5, 0.5, 0.5, 0.5}}
	s.Quantize(3, []float32{0.6, 0.4, 0.5, 0.5})
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 32+16+12 {
		t.Fatalf("%d bytes, want 60", len(b))
	}
	got, err := DecodeShard(b, 4, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Row(nil, 0); math.Abs(float64(r[0]-0.6)) > 1e-3 || math.Abs(float64(r[1]-0.4)) > 1e-3 {
		t.Fatalf("row %v, want ~[0.6 0.4 0.5 0.5]", r)
	}
	bad := bytes.Clone(b)
	copy(bad[32:], []byte{0, 0, 0xc0, 0x7f})
	if _, err := DecodeShard(bad, 4, 1, 4); err == nil || !strings.Contains(err.Error(), "centre") {
		t.Fatalf("NaN centre: %v", err)
	}
	// A manifest that says quantization 1 refuses a residual shard, even with matching bytes.
	m := &Manifest{EmbedDim: 4, Quantization: QuantInt8Scale, Labels: make([]Label, 4)}
	sum := sha256.Sum256(b)
	ref := ShardRef{File: "x", Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Count: 1}
	if _, err := m.DecodeShard(ref, b); err == nil || !strings.Contains(err.Error(), "quantization") {
		t.Fatalf("mismatched quantization: %v", err)
	}
}

func TestQuantizeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100; i++ {
		v := randUnit(rng, 128)
		var s Shard
		s.Dim = 128
		s.Quantize(0, v)
		r := s.Row(nil, 0)
		// Per component the error is at most scale/2 = max|v|/254.
		lim := s.Scales[0]/2 + 1e-7
		for j := range v {
			if d := float32(math.Abs(float64(r[j] - v[j]))); d > lim {
				t.Fatalf("component %d: error %g > %g", j, d, lim)
			}
		}
	}
}

// The committed fuzz seeds must stay valid packs (they are regenerated with -update).
func TestOpenTestdata(t *testing.T) {
	small, err := Open(os.DirFS("testdata/small"), OpenOptions{ModelSHA256: testModel})
	if err != nil || small.Rows() == 0 || small.quantization() != QuantInt8Resid {
		t.Fatalf("testdata/small: %v", err)
	}
	// A pack of quantization 1 (no centre), as written before residuals: still readable.
	old, err := Open(os.DirFS("testdata/quant1"), OpenOptions{ModelSHA256: testModel})
	if err != nil || old.Rows() != small.Rows() || old.quantization() != QuantInt8Scale {
		t.Fatalf("testdata/quant1: %v", err)
	}
	for i := range small.lists[0].Labels {
		a, b := small.lists[0].Row(nil, i), old.lists[0].Row(nil, i)
		if d := dot(a, b) / float32(math.Sqrt(float64(dot(a, a)*dot(b, b)))); d < 0.999 {
			t.Fatalf("row %d: residual and plain int8 rows differ (cos %v)", i, d)
		}
	}
	ivf, err := Open(os.DirFS("testdata/ivf"), OpenOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatalf("testdata/ivf: %v", err)
	}
	if n, np := ivf.IVFLists(); n != 3 || np != 2 || ivf.Rows() != 12 {
		t.Fatalf("testdata/ivf: lists %d nprobe %d rows %d", n, np, ivf.Rows())
	}
	part, err := Open(os.DirFS("testdata/ivf"), OpenOptions{Series: []string{"s0"}})
	if err != nil || part.Rows() != 4 {
		t.Fatalf("series s0: rows %d, err %v (want the 4 characters of s0)", part.Rows(), err)
	}
}
