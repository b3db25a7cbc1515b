package bridge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/toonid/toonid/pack"
)

// packMatcher adapts *pack.Matcher, the one matcher, to the bridge.
type packMatcher struct{ m *pack.Matcher }

// PackMatcher adapts m for New, so native tools search clicks exactly as the browser does.
func PackMatcher(m *pack.Matcher) Matcher { return packMatcher{m} }

func (p packMatcher) Match(q []float32, k int) (Match, error) {
	r, err := p.m.Match(q, k)
	if err != nil {
		return Match{}, err
	}
	out := Match{Unknown: r.Unknown, Threshold: r.Threshold, Answers: make([]Answer, len(r.Answers))}
	for i, a := range r.Answers {
		out.Answers[i] = Answer{ID: a.ID, Name: a.Name, Series: a.Series, Score: a.Score}
	}
	return out, nil
}

// OpenPack decodes a pack from the manifest and shard bytes the worker fetched and verified;
// the pack decoder checks every shard's size and sha256 again, and refuses another model's pack.
func OpenPack(manifest []byte, files map[string][]byte, modelSHA256 string) (*pack.Pack, error) {
	return pack.OpenBytes(manifest, files, pack.OpenOptions{ModelSHA256: modelSHA256})
}

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
	s.SetMatcher(packMatcher{m})
	s.user = len(chars)
	return mustJSON(struct {
		User int `json:"user"`
	}{len(chars)})
}
