package bridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/toonid/toonid/pack"
)

// A UserChar is a character taught in the browser (stored in IndexedDB by the worker).
type UserChar struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Series     string      `json:"series"`
	Embeddings [][]float32 `json:"embeddings"`
}

// Limits on what a browser may teach, stated once: UserPack refuses a taught set beyond them,
// and site/worker.js reads them from the session info ("limits") so that an enroll request
// beyond them is refused before anything is stored in IndexedDB (a stored record the bridge
// refuses would make every later load fail).
const (
	MaxTaughtName     = 80    // Unicode code points in a taught character's name (spaces trimmed), at least 1
	MaxTaughtExamples = 32    // examples per taught character, at least 1; teaching more keeps the latest
	MaxTaughtChars    = 10000 // taught characters in one browser
)

// Limits is the JSON form of the limits above.
type Limits struct {
	Name       int `json:"name"`
	Examples   int `json:"examples"`
	Characters int `json:"characters"`
}

// TaughtLimits returns the limits above.
func TaughtLimits() Limits {
	return Limits{Name: MaxTaughtName, Examples: MaxTaughtExamples, Characters: MaxTaughtChars}
}

// UserPack builds the in-memory pack of taught characters, or nil when there are none. Ids must
// start with "user:" so a taught character can never shadow a downloaded one; names and
// example counts must be within the limits above.
func UserPack(chars []UserChar, modelSHA256 string, dim int) (*pack.Pack, error) {
	if len(chars) == 0 {
		return nil, nil
	}
	if len(chars) > MaxTaughtChars {
		return nil, fmt.Errorf("bridge: %d taught characters, limit %d", len(chars), MaxTaughtChars)
	}
	labels := make([]pack.Label, len(chars))
	embs := make([][][]float32, len(chars))
	for i, c := range chars {
		if !strings.HasPrefix(c.ID, "user:") {
			return nil, fmt.Errorf("bridge: taught character id %q must start with \"user:\"", c.ID)
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(c.Name)); n < 1 || n > MaxTaughtName {
			return nil, fmt.Errorf("bridge: taught character %q: name of %d characters, want 1..%d", c.ID, n, MaxTaughtName)
		}
		if n := len(c.Embeddings); n > MaxTaughtExamples { // none: pack.Build refuses it
			return nil, fmt.Errorf("bridge: taught character %q: %d examples, limit %d", c.ID, n, MaxTaughtExamples)
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
