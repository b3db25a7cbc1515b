package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/toonid/toonid/internal/memtest"
)

// allocated is memtest.Allocated: the bytes f allocates.
var allocated = memtest.Allocated

// bomb is a manifest whose key array holds n empty objects: 3 bytes of JSON each, about 80
// decoded (a Label) before any count check used to run.
func bomb(key string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"format":"toonid-pack","version":1,%q:[`, key)
	b.Grow(3 * n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString("]}")
	return b.Bytes()
}

// TestManifestCountsBeforeAllocating: the label and shard counts are limited before their
// slices are made. Before the fix, MaxLabels+1 empty labels cost ~200 MB of decoding before
// Validate said "limit 1000000" (the 64 MiB manifest of 22 M labels: 5.86 GB, 27 s).
func TestManifestCountsBeforeAllocating(t *testing.T) {
	for _, tc := range []struct {
		key   string
		n     int
		limit string
	}{
		{"labels", MaxLabels + 1, strconv.Itoa(MaxLabels)},
		{"LaBeLs", MaxLabels + 1, strconv.Itoa(MaxLabels)}, // encoding/json matches keys case-insensitively
		{"shards", MaxShards + 1, strconv.Itoa(MaxShards)},
		{"shards", 2 * MaxLabels, strconv.Itoa(MaxShards)},
	} {
		b := bomb(tc.key, tc.n)
		var err error
		got := allocated(func() { _, err = DecodeManifest(b) })
		if err == nil || !strings.Contains(err.Error(), "limit "+tc.limit) {
			t.Errorf("%s x %d: err = %v, want the limit %s", tc.key, tc.n, err, tc.limit)
		}
		if got > 1<<20 {
			t.Errorf("%s x %d (%d bytes of JSON): decoding allocated %d bytes before refusing, want < 1 MiB", tc.key, tc.n, len(b), got)
		}
	}
	// The largest manifest the byte limit lets through, all empty labels (22 M of them).
	if !testing.Short() {
		b := bomb("labels", (MaxManifestSize-64)/3)
		var err error
		got := allocated(func() { _, err = DecodeManifest(b) })
		if err == nil || !strings.Contains(err.Error(), "limit "+strconv.Itoa(MaxLabels)) {
			t.Errorf("64 MiB bomb: err = %v", err)
		}
		if got > 1<<20 {
			t.Errorf("64 MiB bomb: allocated %d bytes before refusing", got)
		}
		t.Logf("%d-byte manifest of %d labels: %d bytes allocated before the limit error", len(b), (MaxManifestSize-64)/3, got)
	}
}

// TestManifestAtTheLimits: a manifest with exactly MaxLabels labels still decodes, its label
// slice made once at the counted size.
func TestManifestAtTheLimits(t *testing.T) {
	p, _ := smallPack(t)
	m, _, err := p.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Labels = make([]Label, MaxLabels)
	for i := range m.Labels {
		m.Labels[i].ID = strconv.Itoa(i)
	}
	b, err := MarshalManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	var got *Manifest
	n := allocated(func() { got, err = DecodeManifest(b) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != MaxLabels || cap(got.Labels) != MaxLabels {
		t.Fatalf("labels len %d cap %d, want %d", len(got.Labels), cap(got.Labels), MaxLabels)
	}
	t.Logf("%d labels (%d bytes of JSON): %d bytes allocated", MaxLabels, len(b), n)
}

// ivfPack is a manifest with an IVF level of lists lists (dim 1, quantization 1) whose coarse
// shard file is real, plus one empty shard (a pack needs at least one).
func ivfPack(lists int) (fstest.MapFS, []byte) {
	s := &Shard{Dim: 1}
	for i := 0; i < lists; i++ {
		s.Quantize(uint32(i), []float32{1})
	}
	b, _ := s.MarshalBinary()
	ref := ShardRef{Bytes: int64(len(b)), Count: lists, List: -1}
	ref.SHA256 = sha256Hex(b)
	ref.File = ref.SHA256 + ShardExt
	eb, _ := (&Shard{Dim: 1}).MarshalBinary()
	empty := ShardRef{Bytes: int64(len(eb)), List: 0}
	empty.SHA256 = sha256Hex(eb)
	empty.File = empty.SHA256 + ShardExt
	m := &Manifest{Format: FormatName, Version: FormatVersion, ModelSHA256: testModel, EmbedDim: 1,
		Quantization: QuantInt8Scale, Threshold: 0.5, Shards: []ShardRef{empty}, IVF: &IVF{ShardRef: ref, NProbe: 1}}
	mb, _ := MarshalManifest(m)
	return fstest.MapFS{ManifestFile: {Data: mb}, ref.File: {Data: b}, empty.File: {Data: eb}}, mb
}

// TestIVFListCountLimited: ivf.count was trusted for make([]Shard, count): 104 bytes a list, so
// a 256 MiB coarse shard of dim 1 (29.8 M lists) cost 3.9 GB and the pack loaded. Now the
// manifest is refused when the count is over MaxLists, before the coarse shard is read.
func TestIVFListCountLimited(t *testing.T) {
	fsys, mb := ivfPack(MaxLists)
	if _, err := Open(fsys, OpenOptions{}); err != nil {
		t.Fatalf("%d lists: %v", MaxLists, err)
	}
	fsys, mb = ivfPack(MaxLists + 1)
	if _, err := DecodeManifest(mb); err == nil || !strings.Contains(err.Error(), "limit "+strconv.Itoa(MaxLists)) {
		t.Fatalf("%d lists: DecodeManifest err = %v, want the list limit", MaxLists+1, err)
	}
	var err error
	got := allocated(func() { _, err = Open(fsys, OpenOptions{}) })
	if err == nil {
		t.Fatalf("%d lists: the pack opened", MaxLists+1)
	}
	// The coarse shard alone is 590 kB; the list table would be 6.8 MB.
	if got > 256<<10 {
		t.Errorf("%d lists: Open allocated %d bytes before refusing", MaxLists+1, got)
	}
	if _, err := Build([]Label{{ID: "a"}}, [][][]float32{{{1, 0}}}, BuildOptions{IVFLists: MaxLists + 1}); err == nil {
		t.Error("Build accepted more IVF lists than a reader opens")
	}
}

// TestReadManifestSizeFirst: a manifest file over the limit is refused from its size, without
// reading it (io.ReadAll used to read the whole 64 MiB and more first).
func TestReadManifestSizeFirst(t *testing.T) {
	big := make([]byte, MaxManifestSize+1)
	fsys := fstest.MapFS{ManifestFile: {Data: big}}
	var err error
	got := allocated(func() { _, err = ReadManifest(fsys) })
	if err == nil || !strings.Contains(err.Error(), "limit "+strconv.Itoa(MaxManifestSize)) {
		t.Fatalf("err = %v", err)
	}
	if got > 64<<10 {
		t.Errorf("refusing a %d-byte manifest allocated %d bytes", len(big), got)
	}
}

// TestFormatLimitsMatchCode: FORMAT.md's limit table names the constants and their values;
// the code is where each limit is stated, so the table must say the same.
func TestFormatLimitsMatchCode(t *testing.T) {
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"MaxManifestSize": MaxManifestSize, "MaxLabels": MaxLabels, "MaxShards": MaxShards,
		"MaxLists": MaxLists, "MaxShardBytes": MaxShardBytes, "MaxDim": MaxDim,
		"maxIDLen": maxIDLen, "maxTextLen": maxTextLen, "MaxThumbnailBytes": MaxThumbnailBytes,
	}
	_, sec, ok := strings.Cut(string(doc), "\n## Limits\n")
	if !ok {
		t.Fatal("FORMAT.md has no ## Limits section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| ([0-9,]+)")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		v, err := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		if err != nil {
			t.Fatalf("FORMAT.md: %s: %v", m[1], err)
		}
		w, ok := want[m[1]]
		if !ok {
			t.Errorf("FORMAT.md names a limit %s the test does not know", m[1])
			continue
		}
		if v != w {
			t.Errorf("FORMAT.md says %s = %d, the code %d", m[1], v, w)
		}
		seen[m[1]] = true
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("FORMAT.md's limit table lacks %s", k)
		}
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestCountElements: the pre-count agrees with encoding/json on arrays whose strings hold
// brackets, commas, quotes and escapes.
func TestCountElements(t *testing.T) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, `[{}]`, `[{},{}]`, `[[],[[]],{"a":[1,2,3]}]`, `["a,b","[","]","{","\"","\\",","]`,
		`["\\\"],[" , 2 , {"x":"]}"} ]`, "[\n1,\n2\t,3\r]", `[null,true,false,-1.5e3,"\u005d"]`,
	} {
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		n, ok := countElements([]byte(strings.TrimSpace(s)), 100)
		if !ok || n != len(raw) {
			t.Errorf("%s: counted %d (ok %v), encoding/json %d", s, n, ok, len(raw))
		}
		if len(raw) > 0 {
			if _, ok := countElements([]byte(strings.TrimSpace(s)), len(raw)-1); ok {
				t.Errorf("%s: %d elements passed a limit of %d", s, len(raw), len(raw)-1)
			}
		}
	}
}
