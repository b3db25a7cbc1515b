package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/toonid/toonid/pack"
)

// ExportName is the name of the pack a browser exports its taught characters as: the folder
// it takes in a store (`toonid pack import` may give another).
const ExportName = "taught"

// ExportPack builds the pack of the taught characters js (a JSON list of UserChar, as SetUser
// takes) with pack.Build, the builder `toonid pack build` uses, and returns it as a pack archive
// (pack.WriteArchive: the pack's files, manifest.json, SHA256SUMS in one tar). The pack is for
// this session's model.
func (s *Session) ExportPack(js []byte) ([]byte, error) {
	chars, up, err := s.userPack(js)
	if err != nil {
		return nil, err
	}
	if up == nil {
		return nil, fmt.Errorf("bridge: export: no taught characters")
	}
	up.Name = ExportName
	var b bytes.Buffer
	if _, err := up.WriteArchive(&b, pack.EncodeOptions{}); err != nil {
		return nil, fmt.Errorf("bridge: export %d characters: %w", len(chars), err)
	}
	return b.Bytes(), nil
}

// Imported is ImportPack's reply: the archive's pack name and its characters as taught ones.
type Imported struct {
	Name       string     `json:"name"`
	Characters []UserChar `json:"characters"`
}

// ImportPack reads a pack archive (pack.OpenArchive: every file's sha256 checked, the shards'
// against the manifest too; another model's pack refused) and returns its characters as taught
// characters, JSON Imported: each label's sub-centres are its examples; an id not under
// "user:" is put there, so an imported character never shadows a downloaded one. The whole set
// is checked as SetUser would check it; the matcher is not touched (the worker stores the
// characters, then calls setUser).
func (s *Session) ImportPack(b []byte) []byte {
	p, _, err := pack.OpenArchive(bytes.NewReader(b), pack.OpenOptions{ModelSHA256: s.info.SHA256})
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: import: %w", err))
	}
	if p.Dim != s.info.EmbedDim {
		return errorJSON(fmt.Errorf("bridge: import: pack %q has %d-value embeddings, model has %d", p.Name, p.Dim, s.info.EmbedDim))
	}
	rows := p.LabelRows()
	out := Imported{Name: p.Name, Characters: make([]UserChar, 0, len(p.Labels))}
	for i, l := range p.Labels {
		id := l.ID
		if !strings.HasPrefix(id, "user:") {
			id = "user:" + id
		}
		name, err := CheckName(l.Name)
		if err != nil {
			return errorJSON(fmt.Errorf("bridge: import: character %q: %w", l.ID, err))
		}
		if len(rows[i]) == 0 {
			continue // a label without rows matches nothing
		}
		out.Characters = append(out.Characters, UserChar{ID: id, Name: name, Series: l.Series, Embeddings: rows[i]})
	}
	if _, err := UserPack(out.Characters, s.pack.ModelSHA256, s.pack.Dim); err != nil {
		return errorJSON(fmt.Errorf("bridge: import: %w", err))
	}
	js, err := json.Marshal(out)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: import: %w", err))
	}
	return js
}
