package bridge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/toonid/toonid/pack"
)

// A UserChar is a character taught in the browser (stored in IndexedDB by the worker).
type UserChar struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Series     string      `json:"series"`
	Embeddings [][]float32 `json:"embeddings"`
}

const maxUserChars = 10000

// UserPack builds the in-memory pack of taught characters, or nil when there are none. Ids must
// start with "user:" so a taught character can never shadow a downloaded one.
func UserPack(chars []UserChar, modelSHA256 string, dim int) (*pack.Pack, error) {
	if len(chars) == 0 {
		return nil, nil
	}
	if len(chars) > maxUserChars {
		return nil, fmt.Errorf("bridge: %d taught characters, limit %d", len(chars), maxUserChars)
	}
	labels := make([]pack.Label, len(chars))
	embs := make([][][]float32, len(chars))
	for i, c := range chars {
		if !strings.HasPrefix(c.ID, "user:") {
			return nil, fmt.Errorf("bridge: taught character id %q must start with \"user:\"", c.ID)
		}
		for j, e := range c.Embeddings {
			if len(e) != dim {
				return nil, fmt.Errorf("bridge: taught character %q: embedding %d has %d values, model has %d", c.ID, j, len(e), dim)
			}
		}
		labels[i] = pack.Label{ID: c.ID, Name: c.Name, Series: c.Series}
		embs[i] = c.Embeddings
	}
	return pack.Build(labels, embs, pack.BuildOptions{Name: "user", ModelSHA256: modelSHA256})
}

// SetUser rebuilds the matcher from the downloaded pack plus the taught characters (JSON list of
// UserChar) and returns {"user": n} or {"error": ...}.
func (s *Session) SetUser(js []byte) []byte {
	var chars []UserChar
	if err := json.Unmarshal(js, &chars); err != nil {
		return errorJSON(fmt.Errorf("bridge: taught characters: %w", err))
	}
	up, err := UserPack(chars, s.pack.ModelSHA256, s.pack.Dim)
	if err != nil {
		return errorJSON(err)
	}
	packs := []*pack.Pack{s.pack}
	if up != nil {
		packs = append(packs, up)
	}
	m, err := pack.NewMatcher(packs...)
	if err != nil {
		return errorJSON(err)
	}
	s.setMatcher(m)
	s.user = len(chars)
	return mustJSON(struct {
		User int `json:"user"`
	}{len(chars)})
}
