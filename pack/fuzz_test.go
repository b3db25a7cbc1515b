package pack

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
)

func seeds(f *testing.F, pattern string) {
	names, err := filepath.Glob(filepath.Join("testdata", "*", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seeds for %s in testdata: %v", pattern, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzManifest: any bytes either decode to a manifest that validates and re-encodes to the same
// manifest, or give an error; never a panic.
func FuzzManifest(f *testing.F) {
	seeds(f, ManifestFile)
	f.Add([]byte(`{"format":"toonid-pack","version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		// The label and shard slices are made once, at the counted length.
		if cap(m.Labels) != len(m.Labels) || cap(m.Shards) != len(m.Shards) {
			t.Fatalf("labels len %d cap %d, shards len %d cap %d: the count before decoding was wrong",
				len(m.Labels), cap(m.Labels), len(m.Shards), cap(m.Shards))
		}
		out, err := MarshalManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeManifest(out)
		if err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
		if !reflect.DeepEqual(m2, m) {
			t.Fatalf("re-encoding changed the manifest:\n%+v\nbecame\n%+v", m, m2)
		}
		if again, err := MarshalManifest(m2); err != nil || string(again) != string(out) {
			t.Fatalf("encoding is not stable (%v):\n%s\n%s", err, out, again)
		}
		// Opening it against an empty FS must fail cleanly unless it names no shards.
		_, err = OpenManifest(m, fstest.MapFS{}, OpenOptions{})
		if err == nil && (len(m.Shards) > 0 || m.IVF != nil) {
			t.Fatal("opened a pack whose shards are missing")
		}
	})
}

// FuzzShard: any bytes either decode to a shard that re-encodes to the same bytes, or give an error.
func FuzzShard(f *testing.F) {
	seeds(f, "*"+ShardExt)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeShard(b, 0, 0, 1<<20)
		if err != nil {
			return
		}
		out, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}
