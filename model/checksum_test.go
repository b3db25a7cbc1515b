package model

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChecksumFixtures pins the content address of every fixture file in
// testdata/checksums.txt; site/test/unit.test.mjs checks the JavaScript modelChecksum against
// the same list, so the two implementations of FORMAT.md's rule cannot drift apart.
func TestChecksumFixtures(t *testing.T) {
	f, err := os.Open("testdata/checksums.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("checksums.txt: bad line %q", line)
		}
		n++
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Checksum(b)
			if err != nil || got != want {
				t.Fatalf("Checksum = %q, %v; want %q", got, err, want)
			}
			m, err := Load(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Info().SHA256 != got {
				t.Errorf("Info().SHA256 %s, Checksum %s", m.Info().SHA256, got)
			}
			if whole := sha256.Sum256(b); hex.EncodeToString(whole[:]) == got {
				t.Error("the content address is not the whole file's sha256")
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("checksums.txt lists no files")
	}
}

// TestChecksumRefuses: the files Checksum must not name (the JS test refuses the same ones).
func TestChecksumRefuses(t *testing.T) {
	good, err := os.ReadFile("testdata/tiny_v2_f32.tmdl")
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "shorter than", nil},
		{"header only", "shorter than", good[:60]},
		{"flipped byte after 40", "sha256 mismatch", mut(func(b []byte) { b[len(b)-1] ^= 1 })},
		{"flipped stored sum", "sha256 mismatch", mut(func(b []byte) { b[8] ^= 1 })},
		{"bad magic", "bad magic", mut(func(b []byte) { b[0] = 'X' })},
		{"version 3 resealed", "version 3", reseal(mut(func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 3) }))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Checksum(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Checksum = %q, %v; want an error with %q", got, err, c.want)
			}
		})
	}
}
