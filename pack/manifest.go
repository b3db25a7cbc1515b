package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Manifest format constants; see FORMAT.md.
const (
	FormatName     = "toonid-pack"
	FormatVersion  = 1
	QuantInt8Scale = "int8-vector-scale"          // shard quantization id 1
	QuantInt8Resid = "int8-residual-vector-scale" // shard quantization id 2: what Build writes
	ManifestFile   = "manifest.json"
	ShardExt       = ".tps"
)

// Limits on what a reader accepts. This is where each is stated: FORMAT.md's "Limits" table
// names these constants (TestFormatLimitsMatchCode keeps the two in step), MaxDim and
// MaxShardBytes are in shard.go. Each is checked before anything sized by it is allocated.
const (
	// MaxManifestSize bounds manifest.json, checked before it is read (from the file's size
	// where the file system knows it) or parsed.
	MaxManifestSize = 64 << 20
	// MaxLabels bounds the label table, counted in the JSON before the table is made.
	MaxLabels = 1_000_000
	// MaxShards bounds the shard list, counted in the JSON before the list is made.
	MaxShards = 65536
	// MaxLists bounds ivf.count, the number of coarse lists; a reader makes one list table
	// entry per list. A list with rows needs a shard of its own, so more lists than MaxShards
	// could only add empty ones.
	MaxLists   = MaxShards
	maxIDLen   = 256  // label id, bytes
	maxTextLen = 1024 // label name, series, credit, thumbnail and shard series, bytes
)

// A Label is one character in a pack's label table.
type Label struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Series    string `json:"series,omitempty"`
	Credit    string `json:"credit,omitempty"`
	Thumbnail string `json:"thumbnail,omitempty"`
}

// A ShardRef names one content-addressed shard file.
type ShardRef struct {
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Count  int    `json:"count"`
	Series string `json:"series,omitempty"`
	List   int    `json:"list"`
}

// IVF is the optional coarse level: a shard of coarse centroids whose row labels are list numbers.
type IVF struct {
	ShardRef
	NProbe int `json:"nprobe"`
}

// Manifest is manifest.json.
type Manifest struct {
	Format              string     `json:"format"`
	Version             int        `json:"version"`
	Name                string     `json:"name,omitempty"`
	ModelSHA256         string     `json:"model_sha256"`
	EmbedDim            int        `json:"embed_dim"`
	Quantization        string     `json:"quantization"`
	Threshold           float32    `json:"threshold"`
	ThresholdFAR        float64    `json:"threshold_far"`
	ThresholdCalibrated bool       `json:"threshold_calibrated"`
	Labels              []Label    `json:"labels"`
	Shards              []ShardRef `json:"shards"`
	IVF                 *IVF       `json:"ivf,omitempty"`
}

// DecodeManifest parses and validates manifest.json. The limits come first: the byte size
// before parsing, the label and shard counts (counted in the JSON) before their slices are
// made, so a hostile manifest costs at most its own bytes plus what MaxLabels labels and
// MaxShards shard references take.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("pack: manifest is %d bytes, limit %d", len(b), MaxManifestSize)
	}
	// encoding/json silently replaces invalid UTF-8 with U+FFFD, so FORMAT.md's "valid UTF-8"
	// rule is checked on the bytes, before decoding.
	if !utf8.Valid(b) {
		return nil, errors.New("pack: manifest: not valid UTF-8")
	}
	var m Manifest
	// The outer labels and shards fields shadow the embedded Manifest's (encoding/json: the
	// shallower field wins, matched case-insensitively as before), so those two arrays reach
	// boundedList, which counts them before making the slices they decode into.
	w := struct {
		*Manifest
		Labels boundedList[Label]    `json:"labels"`
		Shards boundedList[ShardRef] `json:"shards"`
	}{&m, boundedList[Label]{&m.Labels, MaxLabels, "labels"}, boundedList[ShardRef]{&m.Shards, MaxShards, "shards"}}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("pack: manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// boundedList decodes a JSON array into *dst after counting its elements against limit, and
// makes the slice at exactly that length once: no decoding, and no growth past the limit.
type boundedList[T any] struct {
	dst   *[]T
	limit int
	what  string
}

func (l boundedList[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		n, ok := countElements(b, l.limit)
		if !ok {
			return fmt.Errorf("more than %d %s, limit %d", l.limit, l.what, l.limit)
		}
		*l.dst = make([]T, 0, n)
	}
	// null leaves *dst nil; any other non-array is encoding/json's type error.
	return json.Unmarshal(b, l.dst)
}

// countElements counts the elements of the JSON array b, stopping (ok false) past limit. b is
// valid JSON: json.Unmarshal validates its whole input before it calls an UnmarshalJSON.
func countElements(b []byte, limit int) (n int, ok bool) {
	depth, inString, escaped, any := 0, false, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
		case '[', '{':
			any = any || depth == 1
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				if n++; n >= limit {
					return 0, false // n commas: n+1 elements
				}
			}
		case '"':
			any = any || depth == 1
			inString = true
		default:
			any = any || depth == 1
		}
	}
	if any {
		n++
	}
	return n, n <= limit
}

// Validate checks every field against FORMAT.md.
func (m *Manifest) Validate() error {
	if m.Format != FormatName {
		return fmt.Errorf("pack: manifest: format %q, want %q", m.Format, FormatName)
	}
	if m.Version != FormatVersion {
		return fmt.Errorf("pack: manifest: unsupported version %d (this reader knows %d)", m.Version, FormatVersion)
	}
	if !isHex64(m.ModelSHA256) {
		return fmt.Errorf("pack: manifest: model_sha256 %q is not 64 hex digits", clip(m.ModelSHA256))
	}
	if m.EmbedDim < 1 || m.EmbedDim > MaxDim {
		return fmt.Errorf("pack: manifest: embed_dim %d out of range 1..%d", m.EmbedDim, MaxDim)
	}
	if m.Quantization != QuantInt8Scale && m.Quantization != QuantInt8Resid {
		return fmt.Errorf("pack: manifest: unknown quantization %q", clip(m.Quantization))
	}
	if t := float64(m.Threshold); math.IsNaN(t) || t < -1 || t > 1.0001 {
		return fmt.Errorf("pack: manifest: threshold %v out of range -1..1", m.Threshold)
	}
	if math.IsNaN(m.ThresholdFAR) || m.ThresholdFAR < 0 || m.ThresholdFAR > 1 {
		return fmt.Errorf("pack: manifest: threshold_far %v out of range 0..1", m.ThresholdFAR)
	}
	if len(m.Labels) > MaxLabels {
		return fmt.Errorf("pack: manifest: %d labels, limit %d", len(m.Labels), MaxLabels)
	}
	if len(m.Shards) > MaxShards {
		return fmt.Errorf("pack: manifest: %d shards, limit %d", len(m.Shards), MaxShards)
	}
	if m.IVF != nil && m.IVF.Count > MaxLists {
		return fmt.Errorf("pack: manifest: ivf: %d lists, limit %d", m.IVF.Count, MaxLists)
	}
	if len(m.Shards) == 0 {
		// One rule with the site (assets.js parseManifest): a pack without shards can name
		// nobody, so it is refused where it is read, not accepted here and refused there.
		return errors.New("pack: manifest: no shards (a pack needs at least one)")
	}
	if !printable(m.Name) {
		return fmt.Errorf("pack: manifest: name %q holds control characters or invalid UTF-8", clip(m.Name))
	}
	ids := make(map[string]bool, len(m.Labels))
	for i, l := range m.Labels {
		if l.ID == "" || len(l.ID) > maxIDLen {
			return fmt.Errorf("pack: manifest: label %d: id must be 1..%d bytes", i, maxIDLen)
		}
		// Names are printed by identify and pack inspect: a terminal escape in one would run
		// in the user's terminal.
		for _, f := range []struct{ what, v string }{{"id", l.ID}, {"name", l.Name}, {"series", l.Series},
			{"credit", l.Credit}, {"thumbnail", l.Thumbnail}} {
			if !printable(f.v) {
				return fmt.Errorf("pack: manifest: label %d: %s %q holds control characters or invalid UTF-8", i, f.what, clip(f.v))
			}
		}
		if ids[l.ID] {
			return fmt.Errorf("pack: manifest: label %d: duplicate id %q", i, clip(l.ID))
		}
		ids[l.ID] = true
		if len(l.Name) > maxTextLen || len(l.Series) > maxTextLen || len(l.Credit) > maxTextLen || len(l.Thumbnail) > maxTextLen {
			return fmt.Errorf("pack: manifest: label %q: a text field is over %d bytes", clip(l.ID), maxTextLen)
		}
		if l.Thumbnail != "" && !validThumbnailName(l.Thumbnail) {
			return fmt.Errorf("pack: manifest: label %q: thumbnail file name %q is not <sha256>%s", clip(l.ID), clip(l.Thumbnail), ThumbnailExt)
		}
	}
	nList := 0
	if m.IVF != nil {
		if err := m.checkRef(m.IVF.ShardRef, "ivf"); err != nil {
			return err
		}
		if m.IVF.Count < 1 {
			return fmt.Errorf("pack: manifest: ivf: count %d, need at least 1 list", m.IVF.Count)
		}
		if m.IVF.NProbe < 1 || m.IVF.NProbe > m.IVF.Count {
			return fmt.Errorf("pack: manifest: ivf: nprobe %d out of range 1..%d", m.IVF.NProbe, m.IVF.Count)
		}
		nList = m.IVF.Count
	}
	files := make(map[string]bool, len(m.Shards))
	for i, s := range m.Shards {
		if err := m.checkRef(s, fmt.Sprintf("shard %d", i)); err != nil {
			return err
		}
		if files[s.File] {
			return fmt.Errorf("pack: manifest: shard %d: duplicate file %s", i, s.File)
		}
		files[s.File] = true
		if len(s.Series) > maxTextLen {
			return fmt.Errorf("pack: manifest: shard %d: series over %d bytes", i, maxTextLen)
		}
		if !printable(s.Series) {
			return fmt.Errorf("pack: manifest: shard %d: series %q holds control characters or invalid UTF-8", i, clip(s.Series))
		}
		switch {
		case m.IVF == nil && s.List != -1:
			return fmt.Errorf("pack: manifest: shard %d: list %d but the pack has no ivf level (want -1)", i, s.List)
		case m.IVF != nil && (s.List < 0 || s.List >= nList):
			return fmt.Errorf("pack: manifest: shard %d: list %d out of range 0..%d", i, s.List, nList-1)
		}
	}
	return nil
}

func (m *Manifest) checkRef(s ShardRef, what string) error {
	if !isHex64(s.SHA256) {
		return fmt.Errorf("pack: manifest: %s: sha256 %q is not 64 hex digits", what, clip(s.SHA256))
	}
	if s.File != s.SHA256+ShardExt {
		return fmt.Errorf("pack: manifest: %s: file %q must be named <sha256>%s", what, clip(s.File), ShardExt)
	}
	if s.Count < 0 || s.Count > MaxShardBytes {
		return fmt.Errorf("pack: manifest: %s: count %d out of range", what, s.Count)
	}
	want := int64(shardHeaderSize) + int64(s.Count)*int64(8+m.EmbedDim)
	if m.Quantization == QuantInt8Resid {
		want += 4 * int64(m.EmbedDim)
	}
	if s.Bytes != want {
		return fmt.Errorf("pack: manifest: %s: bytes %d, but %d rows of dim %d need %d", what, s.Bytes, s.Count, m.EmbedDim, want)
	}
	if s.Bytes > MaxShardBytes {
		return fmt.Errorf("pack: manifest: %s: %d bytes, limit %d", what, s.Bytes, MaxShardBytes)
	}
	return nil
}

// DecodeShard verifies b against ref (size, then sha256) and decodes it.
// Shards of the pack proper are checked against the label table, the ivf shard against its list count.
func (m *Manifest) DecodeShard(ref ShardRef, b []byte) (*Shard, error) {
	if int64(len(b)) != ref.Bytes {
		return nil, fmt.Errorf("pack: shard %s: %d bytes, manifest says %d", ref.File, len(b), ref.Bytes)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != ref.SHA256 {
		return nil, fmt.Errorf("pack: shard %s: sha256 %s, manifest says %s", ref.File, got, ref.SHA256)
	}
	n := len(m.Labels)
	if m.IVF != nil && ref.File == m.IVF.File {
		n = m.IVF.Count
	}
	s, err := DecodeShard(b, m.EmbedDim, ref.Count, n)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, ref.File)
	}
	if (s.Centre != nil) != (m.Quantization == QuantInt8Resid) {
		return nil, fmt.Errorf("pack: shard %s: quantization differs from the manifest's %q", ref.File, m.Quantization)
	}
	if s.Len() != ref.Count {
		return nil, fmt.Errorf("pack: shard %s: %d rows, manifest says %d", ref.File, s.Len(), ref.Count)
	}
	return s, nil
}

// ReadManifest reads and validates manifest.json from fsys.
func ReadManifest(fsys fs.FS) (*Manifest, error) {
	b, err := readLimited(fsys, ManifestFile, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return DecodeManifest(b)
}

// ReadShard reads, verifies and decodes one shard named by the manifest.
func (m *Manifest) ReadShard(fsys fs.FS, ref ShardRef) (*Shard, error) {
	b, err := readLimited(fsys, ref.File, ref.Bytes)
	if err != nil {
		return nil, err
	}
	return m.DecodeShard(ref, b)
}

// readLimited reads name when it is at most limit bytes. A file whose size (from Stat) is over
// the limit is refused unread; otherwise the buffer is made once at that size, and reading
// stops one byte past the limit, so a file that grows or lies about its size costs no more.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	// Stat before Open: opening a FIFO named manifest.json would wait for a writer forever.
	if st, err := fs.Stat(fsys, name); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("pack: %s is not a regular file (%s)", name, st.Mode().Type())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	size := int64(512)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() > limit {
			return nil, fmt.Errorf("pack: %s is %d bytes, larger than the limit %d", name, st.Size(), limit)
		}
		size = st.Size()
	}
	b := make([]byte, 0, min(size, limit)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):min(int64(cap(b)), limit+1)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("pack: %s is larger than the limit %d", name, limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pack: read %s: %w", name, err)
		}
	}
}

// ErrModelMismatch is returned (wrapped) when a pack was built with another model.
var ErrModelMismatch = errors.New("pack built for another model")

// CheckModel refuses a pack built for a model other than modelSHA256 (hex).
func (m *Manifest) CheckModel(modelSHA256 string) error {
	if !strings.EqualFold(m.ModelSHA256, modelSHA256) {
		return fmt.Errorf("pack %q: %w: pack model sha256 %s, loaded model %s", m.Name, ErrModelMismatch, m.ModelSHA256, clip(modelSHA256))
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters (C0, DEL, C1: the
// terminal escapes) or the bidirectional overrides that reorder what a terminal shows.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return false
		}
	}
	return true
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// clip keeps hostile strings short in error messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
