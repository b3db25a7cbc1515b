package pack

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// validManifest encodes a small pack built from random embeddings.
func validManifest(t *testing.T) *Manifest {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	labels := []Label{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}
	embs := make([][][]float32, len(labels))
	for i := range embs {
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		embs[i] = [][]float32{v}
	}
	p, err := Build(labels, embs, BuildOptions{Name: "t", ModelSHA256: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := p.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestValidateRefusesTerminalEscapes: label text is printed by identify and pack inspect, so
// control characters (terminal escapes), bidi overrides and invalid UTF-8 are refused; and a
// pack without shards is refused, as the site refuses it.
func TestValidateRefusesTerminalEscapes(t *testing.T) {
	if err := validManifest(t).Validate(); err != nil {
		t.Fatalf("valid manifest refused: %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(m *Manifest)
	}{
		{"ESC in name", func(m *Manifest) { m.Labels[0].Name = "\x1b[2J\x1b[31mred" }},
		{"CSI (C1) in series", func(m *Manifest) { m.Labels[0].Series = "x\u009b31m" }},
		{"BEL in credit", func(m *Manifest) { m.Labels[1].Credit = "ding\a" }},
		{"newline in id", func(m *Manifest) { m.Labels[1].ID = "b\nfake line" }},
		{"DEL in thumbnail", func(m *Manifest) { m.Labels[1].Thumbnail = "t\x7f.png" }},
		{"bidi override", func(m *Manifest) { m.Labels[0].Name = "\u202egnp.exe" }},
		{"invalid UTF-8", func(m *Manifest) { m.Labels[0].Name = "\xff\xfe" }},
		{"escape in pack name", func(m *Manifest) { m.Name = "p\x1b]0;title\a" }},
		{"escape in shard series", func(m *Manifest) { m.Shards[0].Series = "s\x1b" }},
		{"no shards", func(m *Manifest) { m.Shards = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := validManifest(t)
			tc.spoil(m)
			if err := m.Validate(); err == nil {
				t.Fatal("accepted")
			} else if strings.ContainsAny(err.Error(), "\x1b\a\x7f\u009b\u202e") {
				t.Errorf("the error itself carries the control character: %q", err)
			}
		})
	}
	// Non-ASCII names are fine.
	m := validManifest(t)
	m.Labels[0].Name = "Ξένια ペッパー 🥕"
	if err := m.Validate(); err != nil {
		t.Errorf("non-ASCII name refused: %v", err)
	}
}
