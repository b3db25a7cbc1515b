// Package pack builds, stores, opens and matches centroid packs: the per-character sub-centres
// that the browser, the CLI and the tests match a face embedding against.
//
// A complete round trip:
//
//	p, err := pack.Build(labels, embeddingsPerLabel, pack.BuildOptions{Name: "mine", ModelSHA256: sha})
//	err = p.Calibrate(distractorEmbeddings, 0.01) // optional: threshold at 1% false accepts
//	man, err := p.WriteDir("out", pack.EncodeOptions{}) // manifest.json + <sha256>.tps shards
//	q, err := pack.Open(os.DirFS("out"), pack.OpenOptions{ModelSHA256: sha})
//	m, err := pack.NewMatcher(q, enrolled)        // merge with the user's own pack
//	res, err := m.Match(embedding, 5)             // res.Answers[0].Name, res.Unknown
//
// The file format is in FORMAT.md.
package pack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/toonid/toonid/internal/fsutil"
)

// A Pack is a decoded pack held in memory, ready for a Matcher.
type Pack struct {
	Name                string
	ModelSHA256         string
	Dim                 int
	Threshold           float32
	ThresholdFAR        float64
	ThresholdCalibrated bool
	Labels              []Label
	// Thumbnails holds the thumbnail files the labels name (file name -> bytes; SetThumbnail).
	// Open does not read them (ReadThumbnail does, on demand).
	Thumbnails map[string][]byte

	// coarse holds the IVF centroids (row label = list number); nil when the pack has no coarse level.
	coarse *Shard
	nprobe int
	// lists[i] holds the rows of IVF list i (one list without IVF).
	lists []Shard
}

// Rows is the number of sub-centre rows loaded.
func (p *Pack) Rows() int {
	n := 0
	for i := range p.lists {
		n += p.lists[i].Len()
	}
	return n
}

// IVFLists reports the number of coarse lists (0 without a coarse level) and the default nprobe.
func (p *Pack) IVFLists() (lists, nprobe int) {
	if p.coarse == nil {
		return 0, 0
	}
	return p.coarse.Len(), p.nprobe
}

// OpenOptions selects what Open loads.
type OpenOptions struct {
	// ModelSHA256 (hex) is the loaded model; a pack built for another model is refused. Empty skips the check.
	ModelSHA256 string
	// Series, when not empty, loads only shards of these series (packs built with SplitSeries).
	Series []string
	// Query, with an IVF pack, loads only the shards of the NProbe lists nearest to it.
	Query  []float32
	NProbe int
}

// Open reads manifest.json and the shards it names from fsys, verifying each shard's size and sha256.
func Open(fsys fs.FS, opts OpenOptions) (*Pack, error) {
	m, err := ReadManifest(fsys)
	if err != nil {
		return nil, err
	}
	return OpenManifest(m, fsys, opts)
}

// OpenManifest is Open for an already decoded manifest.
func OpenManifest(m *Manifest, fsys fs.FS, opts OpenOptions) (*Pack, error) {
	if opts.ModelSHA256 != "" {
		if err := m.CheckModel(opts.ModelSHA256); err != nil {
			return nil, err
		}
	}
	p := &Pack{
		Name: m.Name, ModelSHA256: m.ModelSHA256, Dim: m.EmbedDim,
		Threshold: m.Threshold, ThresholdFAR: m.ThresholdFAR, ThresholdCalibrated: m.ThresholdCalibrated,
		Labels: m.Labels, lists: make([]Shard, 1),
	}
	var want map[int]bool
	if m.IVF != nil {
		c, err := m.ReadShard(fsys, m.IVF.ShardRef)
		if err != nil {
			return nil, fmt.Errorf("pack %q: ivf: %w", m.Name, err)
		}
		p.coarse, p.nprobe = c, m.IVF.NProbe
		p.lists = make([]Shard, m.IVF.Count)
		if opts.Query != nil {
			np := opts.NProbe
			if np <= 0 {
				np = m.IVF.NProbe
			}
			q, err := normalized(opts.Query, m.EmbedDim)
			if err != nil {
				return nil, err
			}
			want = map[int]bool{}
			for _, l := range p.nearLists(q, np, nil) {
				want[l] = true
			}
		}
	}
	for i := range p.lists {
		p.lists[i].Dim = m.EmbedDim
	}
	for _, ref := range m.Shards {
		if len(opts.Series) > 0 && !slices.Contains(opts.Series, ref.Series) {
			continue
		}
		li := max(ref.List, 0)
		if want != nil && !want[li] {
			continue
		}
		s, err := m.ReadShard(fsys, ref)
		if err != nil {
			return nil, fmt.Errorf("pack %q: %w", m.Name, err)
		}
		l := &p.lists[li]
		if l.Len() == 0 {
			l.Centre = s.Centre
		} else if !slices.Equal(l.Centre, s.Centre) {
			return nil, fmt.Errorf("pack %q: shard %s: its centre differs from the other shards of list %d", m.Name, ref.File, li)
		}
		l.Labels = append(l.Labels, s.Labels...)
		l.Scales = append(l.Scales, s.Scales...)
		l.Data = append(l.Data, s.Data...)
	}
	return p, nil
}

// nearLists returns the n lists whose coarse centroids score highest against q, best first, skipping
// lists for which nonEmpty (when not nil) is false. A small insertion selection: n is a few dozen at most.
func (p *Pack) nearLists(q []float32, n int, nonEmpty func(int) bool) []int {
	c := p.coarse
	n = min(n, c.Len()) // n comes from callers (WithNProbe, OpenOptions.NProbe): no more than the lists
	off := c.centreDot(q)
	out := make([]int, 0, n)
	scores := make([]float32, 0, n)
	for i := 0; i < c.Len(); i++ {
		l := int(c.Labels[i])
		if nonEmpty != nil && !nonEmpty(l) {
			continue
		}
		s := off + c.Scales[i]*dotInt8(c.Data[i*c.Dim:(i+1)*c.Dim], q)
		if len(out) == n && s <= scores[n-1] {
			continue
		}
		if len(out) < n {
			out, scores = append(out, 0), append(scores, 0)
		}
		k := len(out) - 1
		for ; k > 0 && scores[k-1] < s; k-- {
			out[k], scores[k] = out[k-1], scores[k-1]
		}
		out[k], scores[k] = l, s
	}
	return out
}

// quantization names the manifest quantization of p: residual when its rows carry a centre.
func (p *Pack) quantization() string {
	for i := range p.lists {
		if p.lists[i].Len() > 0 {
			if p.lists[i].Centre != nil {
				return QuantInt8Resid
			}
			return QuantInt8Scale
		}
	}
	if p.coarse != nil && p.coarse.Centre != nil {
		return QuantInt8Resid
	}
	return QuantInt8Scale
}

// EncodeOptions controls how a pack is cut into shard files.
type EncodeOptions struct {
	// ShardRows caps the rows of one shard (default 8192).
	ShardRows int
	// SplitSeries puts each series in its own shards so clients can load only some series.
	SplitSeries bool
	// Overwrite lets WriteDir replace a manifest.json that is not a toonid pack's (CheckDir).
	Overwrite bool
}

// Encode returns the manifest and the files (file name -> bytes: shards, thumbnails) of p.
func (p *Pack) Encode(opts EncodeOptions) (*Manifest, map[string][]byte, error) {
	if opts.ShardRows <= 0 {
		opts.ShardRows = 8192
	}
	m := &Manifest{
		Format: FormatName, Version: FormatVersion, Name: p.Name, ModelSHA256: p.ModelSHA256,
		EmbedDim: p.Dim, Quantization: p.quantization(), Threshold: p.Threshold,
		ThresholdFAR: p.ThresholdFAR, ThresholdCalibrated: p.ThresholdCalibrated,
		Labels: p.Labels, Shards: []ShardRef{},
	}
	files := map[string][]byte{}
	for _, l := range p.Labels {
		if l.Thumbnail == "" {
			continue
		}
		b, ok := p.Thumbnails[l.Thumbnail]
		if !ok {
			return nil, nil, fmt.Errorf("pack: label %q names thumbnail %s, which the pack does not hold", clip(l.ID), clip(l.Thumbnail))
		}
		if err := CheckThumbnail(l.Thumbnail, b); err != nil {
			return nil, nil, err
		}
		files[l.Thumbnail] = b
	}
	put := func(s *Shard) (ShardRef, error) {
		b, err := s.MarshalBinary()
		if err != nil {
			return ShardRef{}, err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		files[h+ShardExt] = b
		return ShardRef{File: h + ShardExt, Bytes: int64(len(b)), SHA256: h, Count: s.Len(), List: -1}, nil
	}
	if p.coarse != nil {
		ref, err := put(p.coarse)
		if err != nil {
			return nil, nil, err
		}
		m.IVF = &IVF{ShardRef: ref, NProbe: p.nprobe}
	}
	for li := range p.lists {
		l := &p.lists[li]
		// Group rows by series (one group when not splitting), keeping their order.
		groups := map[string][]int{}
		var order []string
		for r := 0; r < l.Len(); r++ {
			key := ""
			if opts.SplitSeries {
				key = p.Labels[l.Labels[r]].Series
			}
			if _, ok := groups[key]; !ok {
				order = append(order, key)
			}
			groups[key] = append(groups[key], r)
		}
		for _, key := range order {
			rows := groups[key]
			for start := 0; start < len(rows); start += opts.ShardRows {
				s := &Shard{Dim: p.Dim, Centre: l.Centre}
				for _, r := range rows[start:min(start+opts.ShardRows, len(rows))] {
					s.Labels = append(s.Labels, l.Labels[r])
					s.Scales = append(s.Scales, l.Scales[r])
					s.Data = append(s.Data, l.Data[r*p.Dim:(r+1)*p.Dim]...)
				}
				ref, err := put(s)
				if err != nil {
					return nil, nil, err
				}
				ref.Series = key
				if p.coarse != nil {
					ref.List = li
				}
				m.Shards = append(m.Shards, ref)
			}
		}
	}
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("pack: encoded manifest is invalid: %w", err)
	}
	return m, files, nil
}

// MarshalManifest encodes m as indented JSON.
func MarshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("pack: manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteDir writes p into dir (created if needed): shards first, manifest.json last, so a reader never
// sees a manifest naming missing shards. Stale shards from an earlier build are left alone. A dir
// holding a manifest.json that is not a toonid pack's is refused (CheckDir) unless opts.Overwrite.
func (p *Pack) WriteDir(dir string, opts EncodeOptions) (*Manifest, error) {
	if !opts.Overwrite {
		if err := CheckDir(dir); err != nil {
			return nil, err
		}
	}
	m, files, err := p.Encode(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	for name, b := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
			return nil, err
		}
	}
	mb, err := MarshalManifest(m)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ManifestFile), mb); err != nil {
		return nil, err
	}
	return m, nil
}

// ErrNotAPack is returned (wrapped) by CheckDir for a directory whose manifest.json is something else's.
var ErrNotAPack = errors.New("manifest.json is not a toonid pack's")

// CheckDir reports whether WriteDir may write into dir: it may when dir does not exist, holds no
// manifest.json, or holds one whose "format" is "toonid-pack" (any version: a pack this tool
// wrote). Anything else there (another program's manifest.json, a folder in its place, an
// unreadable file) is refused, so a build never replaces a file it did not write.
func CheckDir(dir string) error {
	name := filepath.Join(dir, ManifestFile)
	st, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("pack: %s: %w (it is not a regular file)", name, ErrNotAPack)
	}
	b, err := readLimited(os.DirFS(dir), ManifestFile, MaxManifestSize)
	if err != nil {
		return fmt.Errorf("pack: %s: %w (%v)", name, ErrNotAPack, err)
	}
	var head struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Format != FormatName {
		return fmt.Errorf("pack: %s: %w (no \"format\": %q in it); not overwriting it", name, ErrNotAPack, FormatName)
	}
	return nil
}

// writeFileAtomic is fsutil.WriteFileAtomic: a build interrupted mid-file leaves a hidden
// temporary file that no reader or the store takes for a shard, never a half shard.
func writeFileAtomic(name string, b []byte) error {
	if err := fsutil.WriteFileAtomic(name, b, 0o644); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	return nil
}

// normalized returns an L2-normalised copy of v, checking its length.
func normalized(v []float32, dim int) ([]float32, error) {
	if len(v) != dim {
		return nil, fmt.Errorf("pack: embedding has %d values, pack dim is %d", len(v), dim)
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return nil, fmt.Errorf("pack: embedding has zero or non-finite norm")
	}
	inv := float32(1 / math.Sqrt(ss))
	out := make([]float32, dim)
	for i, x := range v {
		out[i] = x * inv
	}
	return out, nil
}
