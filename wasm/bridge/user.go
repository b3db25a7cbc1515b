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
	// Exact, when given, has one flag per embedding: true keeps that one as a sub-centre of its
	// own (pack.BuildOptions.Exact), never averaged with the rest. The worker sets it for a face
	// taught from a click as the detector crops it: identifyAll embeds that square, which the
	// click search's crops need not resemble (site/README.md, "Wrong? It's …").
	Exact []bool `json:"exact,omitempty"`
}

// Limits on what a browser may teach, stated once: UserPack refuses a taught set beyond them.
// site/worker.js never re-implements them: before it stores anything in IndexedDB it asks the
// bridge (CheckName for the name it will store, CheckUser for the whole set it would then hold),
// since a stored record the bridge refuses would make every later load fail. It reads the limits
// from the session info ("limits") only to keep the latest examples.
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

// CheckName returns a taught character's name as it is stored (spaces trimmed, by Go's rule:
// strings.TrimSpace) or an error when it has no or too many code points.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxTaughtName {
		return "", fmt.Errorf("name of %d characters, want 1..%d", n, MaxTaughtName)
	}
	return name, nil
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
	exact := make([][][]float32, len(chars))
	for i, c := range chars {
		if !strings.HasPrefix(c.ID, "user:") {
			return nil, fmt.Errorf("bridge: taught character id %q must start with \"user:\"", c.ID)
		}
		if _, err := CheckName(c.Name); err != nil {
			return nil, fmt.Errorf("bridge: taught character %q: %w", c.ID, err)
		}
		if n := len(c.Embeddings); n > MaxTaughtExamples { // none: pack.Build refuses it
			return nil, fmt.Errorf("bridge: taught character %q: %d examples, limit %d", c.ID, n, MaxTaughtExamples)
		}
		for j, e := range c.Embeddings {
			if len(e) != dim {
				return nil, fmt.Errorf("bridge: taught character %q: embedding %d has %d values, model has %d", c.ID, j, len(e), dim)
			}
		}
		if len(c.Exact) != 0 && len(c.Exact) != len(c.Embeddings) {
			return nil, fmt.Errorf("bridge: taught character %q: %d exact flags for %d embeddings", c.ID, len(c.Exact), len(c.Embeddings))
		}
		labels[i] = pack.Label{ID: c.ID, Name: c.Name, Series: c.Series}
		if len(c.Exact) == 0 {
			embs[i] = c.Embeddings
			continue
		}
		for j, e := range c.Embeddings {
			if c.Exact[j] {
				exact[i] = append(exact[i], e)
			} else {
				embs[i] = append(embs[i], e)
			}
		}
	}
	return pack.Build(labels, embs, pack.BuildOptions{Name: "user", ModelSHA256: modelSHA256, Exact: exact})
}

// CheckName answers the protocol's checkName: {"name": the name as stored} or {"error": ...}.
func (s *Session) CheckName(name string) []byte {
	n, err := CheckName(name)
	if err != nil {
		return errorJSON(fmt.Errorf("bridge: taught character %q: %w", name, err))
	}
	return mustJSON(struct {
		Name string `json:"name"`
	}{n})
}

// CheckUser is SetUser's dry run: the same checks on the same JSON, the matcher untouched. The
// worker calls it on the set it is about to store, so IndexedDB never holds one SetUser refuses.
func (s *Session) CheckUser(js []byte) []byte {
	chars, _, err := s.userPack(js)
	if err != nil {
		return errorJSON(err)
	}
	return mustJSON(struct {
		User int `json:"user"`
	}{len(chars)})
}

func (s *Session) userPack(js []byte) ([]UserChar, *pack.Pack, error) {
	var chars []UserChar
	if err := json.Unmarshal(js, &chars); err != nil {
		return nil, nil, fmt.Errorf("bridge: taught characters: %w", err)
	}
	up, err := UserPack(chars, s.pack.ModelSHA256, s.pack.Dim)
	return chars, up, err
}

// SetUser rebuilds the matcher from the downloaded pack plus the taught characters (JSON list of
// UserChar) and returns {"user": n} or {"error": ...}.
func (s *Session) SetUser(js []byte) []byte {
	chars, up, err := s.userPack(js)
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
