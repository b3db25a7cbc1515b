package pack

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

// OpenBytes checks the in-memory shards exactly as Open checks files: the same pack opens, and a
// missing, truncated, corrupt or grown shard is refused with the same errors.
func TestOpenBytes(t *testing.T) {
	p, _ := smallPack(t)
	m, files, err := p.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := MarshalManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	q, err := OpenBytes(mb, files, OpenOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if q.Rows() != p.Rows() || len(q.Labels) != len(p.Labels) || !bytes.Equal(i8bytes(q.lists[0].Data), i8bytes(p.lists[0].Data)) {
		t.Fatalf("OpenBytes: %d rows %d labels, want %d and %d with the same data", q.Rows(), len(q.Labels), p.Rows(), len(p.Labels))
	}
	shard := m.Shards[0].File
	for _, tc := range []struct {
		name     string
		manifest []byte
		mutate   func(files map[string][]byte)
		opts     OpenOptions
		want     string
	}{
		{"another model", mb, func(map[string][]byte) {}, OpenOptions{ModelSHA256: strings.Repeat("f", 64)}, "another model"},
		{"bad manifest", []byte(`{`), func(map[string][]byte) {}, OpenOptions{}, "manifest"},
		{"missing shard", mb, func(f map[string][]byte) { delete(f, shard) }, OpenOptions{}, "file does not exist"},
		{"truncated shard", mb, func(f map[string][]byte) { f[shard] = f[shard][:40] }, OpenOptions{}, "manifest says"},
		{"corrupt shard", mb, func(f map[string][]byte) {
			d := bytes.Clone(f[shard])
			d[len(d)-1] ^= 1
			f[shard] = d
		}, OpenOptions{}, "sha256"},
		{"shard larger than manifest says", mb, func(f map[string][]byte) { f[shard] = append(bytes.Clone(f[shard]), 0) }, OpenOptions{}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := maps.Clone(files)
			tc.mutate(f)
			_, err := OpenBytes(tc.manifest, f, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
