package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/toonid/toonid/model"
)

// A taught character exported as a pack archive and imported into another session is named
// there; a corrupt, truncated or other model's archive is an error and changes nothing.
func TestExportImportPack(t *testing.T) {
	s, _ := testSession(t)
	s.info = model.Info{SHA256: testSHA, EmbedDim: 4}
	pix, w, h := scene()
	crop := make([]byte, 4*20*20)
	for i := range crop {
		crop[i] = 128
	}
	var e struct {
		Embedding []float32 `json:"embedding"`
	}
	if err := json.Unmarshal(s.Embed(crop, 20, 20), &e); err != nil {
		t.Fatal(err)
	}
	chars, _ := json.Marshal([]UserChar{{ID: "user:1", Name: "Grey", Series: "taught", Embeddings: [][]float32{e.Embedding}}})
	tar, err := s.ExportPack(chars)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExportPack([]byte(`[]`)); err == nil {
		t.Error("exporting nothing gave a pack")
	}

	other, _ := testSession(t) // another browser: nothing taught
	other.info = s.info
	click := []byte(`{"click":{"x":40,"y":40,"unit":300}}`)
	if r := decode(t, other.Identify(pix, w, h, click)); !r.Unknown {
		t.Fatalf("before the import: %+v", r.Answers)
	}
	for _, bad := range [][]byte{tar[:len(tar)/2], tar[:len(tar)/3], append([]byte("x"), tar...), nil} {
		if got := string(other.ImportPack(bad)); !strings.Contains(got, `"error":"bridge: import: pack: not a complete pack archive`) {
			t.Errorf("bad archive of %d bytes: %s", len(bad), got)
		}
	}
	flipped := append([]byte(nil), tar...)
	flipped[530] ^= 0x40 // in the first file's bytes (a shard of 60)
	if got := string(other.ImportPack(flipped)); !strings.Contains(got, `"error"`) {
		t.Errorf("flipped byte: %s", got)
	}
	elsewhere, _ := testSession(t)
	elsewhere.info = model.Info{SHA256: "ff" + testSHA[2:], EmbedDim: 4}
	if got := string(elsewhere.ImportPack(tar)); !strings.Contains(got, "model") {
		t.Errorf("another model's pack: %s", got)
	}

	var imp Imported
	if err := json.Unmarshal(other.ImportPack(tar), &imp); err != nil || imp.Name != ExportName || len(imp.Characters) != 1 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	c := imp.Characters[0]
	if c.ID != "user:1" || c.Name != "Grey" || c.Series != "taught" || len(c.Embeddings) != 1 {
		t.Fatalf("imported %+v", c)
	}
	js, _ := json.Marshal(imp.Characters)
	if got := string(other.SetUser(js)); got != `{"user":1}` {
		t.Fatalf("SetUser: %s", got)
	}
	if r := decode(t, other.Identify(pix, w, h, click)); r.Unknown || r.Answers[0].Name != "Grey" {
		t.Fatalf("after the import: %+v", r.Answers)
	}
}
