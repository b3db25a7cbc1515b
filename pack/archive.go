package pack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// A pack archive is a whole pack in one file (FORMAT.md, "One file"): an uncompressed POSIX tar
// (ustar) of the pack directory's files, flat, then manifest.json, then SHA256SUMS (the sha256 of
// every file before it, manifest included, in sha256sum's format). The browser downloads one
// (taught characters exported) and `toonid pack import` unpacks one into a store.
const (
	ArchiveExt = ".toonid-pack.tar"
	// SumsFile is the archive's last entry: "<sha256>  <name>" per file, so that every byte of
	// the pack, the manifest too, is verified on import (`sha256sum -c SHA256SUMS` after tar -x).
	SumsFile = "SHA256SUMS"
	// MaxArchiveBytes bounds an archive: a reader stops there before it holds more.
	MaxArchiveBytes = MaxShardBytes
	// maxArchiveFiles bounds its entries: the manifest, MaxShards shards, the ivf shard and a
	// thumbnail per label up to as many again.
	maxArchiveFiles = 2*MaxShards + 2
)

// ErrArchive is returned (wrapped) for a file that is not a complete pack archive.
var ErrArchive = errors.New("pack: not a complete pack archive")

// WriteArchive writes p as a pack archive to w: shards and thumbnails in name order, then
// manifest.json. It returns the manifest written.
func (p *Pack) WriteArchive(w io.Writer, opts EncodeOptions) (*Manifest, error) {
	m, files, err := p.Encode(opts)
	if err != nil {
		return nil, err
	}
	mb, err := MarshalManifest(m)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	tw := tar.NewWriter(w)
	put := func(name string, b []byte) error {
		// A fixed time and mode: the same pack gives the same bytes.
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	for _, n := range names {
		if err := put(n, files[n]); err != nil {
			return nil, fmt.Errorf("pack: archive: %w", err)
		}
	}
	if err := put(ManifestFile, mb); err != nil {
		return nil, fmt.Errorf("pack: archive: %w", err)
	}
	files[ManifestFile] = mb
	if err := put(SumsFile, sums(files)); err != nil {
		return nil, fmt.Errorf("pack: archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("pack: archive: %w", err)
	}
	return m, nil
}

// sums is SumsFile's content for files: one line per file, by name.
func sums(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var b []byte
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		b = fmt.Appendf(b, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	return b
}

// ReadArchive reads a pack archive: manifest.json's bytes and the other files by name. Every
// entry must be a regular file with a flat name a pack holds (manifest.json, <sha256>.tps,
// <sha256>.jpg, SHA256SUMS), none twice, each within its format limit, the whole within
// MaxArchiveBytes; SHA256SUMS must come last and list exactly the files before it with their
// sha256. The pack is not checked against its manifest here: OpenArchive does that.
func ReadArchive(r io.Reader) ([]byte, map[string][]byte, error) {
	lr := &io.LimitedReader{R: r, N: MaxArchiveBytes + 1}
	tr := tar.NewReader(lr)
	var manifest, sumsFile []byte
	files := map[string][]byte{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if lr.N <= 0 {
			return nil, nil, fmt.Errorf("%w: over %d bytes", ErrArchive, MaxArchiveBytes)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v (truncated or corrupt)", ErrArchive, err)
		}
		if n >= maxArchiveFiles {
			return nil, nil, fmt.Errorf("%w: over %d files", ErrArchive, maxArchiveFiles)
		}
		if sumsFile != nil {
			return nil, nil, fmt.Errorf("%w: %q after %s, which must come last", ErrArchive, clip(h.Name), SumsFile)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, nil, fmt.Errorf("%w: %q is not a regular file", ErrArchive, clip(h.Name))
		}
		var limit int64
		switch name := h.Name; {
		case name == ManifestFile:
			limit = MaxManifestSize
		case name == SumsFile:
			limit = 100 * maxArchiveFiles
		case strings.HasSuffix(name, ShardExt) && isHex64(strings.TrimSuffix(name, ShardExt)):
			limit = MaxShardBytes
		case validThumbnailName(name):
			limit = MaxThumbnailBytes
		default:
			return nil, nil, fmt.Errorf("%w: %q is not a file a pack holds (manifest.json, <sha256>%s, <sha256>%s)", ErrArchive, clip(name), ShardExt, ThumbnailExt)
		}
		if _, dup := files[h.Name]; dup || (h.Name == ManifestFile && manifest != nil) {
			return nil, nil, fmt.Errorf("%w: %s twice", ErrArchive, h.Name)
		}
		if h.Size < 0 || h.Size > limit {
			return nil, nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrArchive, h.Name, h.Size, limit)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v (truncated)", ErrArchive, h.Name, err)
		}
		switch h.Name {
		case ManifestFile:
			manifest = b
		case SumsFile:
			sumsFile = b
		default:
			files[h.Name] = b
		}
	}
	if lr.N <= 0 {
		return nil, nil, fmt.Errorf("%w: over %d bytes", ErrArchive, MaxArchiveBytes)
	}
	if manifest == nil || sumsFile == nil {
		return nil, nil, fmt.Errorf("%w: no %s or no %s (truncated?)", ErrArchive, ManifestFile, SumsFile)
	}
	all := maps.Clone(files)
	all[ManifestFile] = manifest
	if want := sums(all); !bytes.Equal(sumsFile, want) {
		return nil, nil, fmt.Errorf("%w: %s does not match the files: %s", ErrArchive, SumsFile, sumsDiff(sumsFile, want))
	}
	return manifest, files, nil
}

// sumsDiff names the first line where got and want differ.
func sumsDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			_, name, _ := strings.Cut(wl, "  ")
			if name == "" {
				_, name, _ = strings.Cut(gl, "  ")
			}
			return fmt.Sprintf("sha256 mismatch or file missing at %q", clip(name))
		}
	}
	return "differs"
}

// OpenArchive reads a pack archive and opens it as OpenBytes does (every shard's size and sha256
// against the manifest), and verifies every thumbnail a label names (size, JPEG, sha256; it must
// be there) into p.Thumbnails. A file the manifest does not name is refused: an archive holds one
// pack, exactly. It returns the pack and the manifest's bytes.
func OpenArchive(r io.Reader, opts OpenOptions) (*Pack, []byte, error) {
	mb, files, err := ReadArchive(r)
	if err != nil {
		return nil, nil, err
	}
	m, err := DecodeManifest(mb)
	if err != nil {
		return nil, nil, err
	}
	named := map[string]bool{}
	for _, s := range m.Shards {
		named[s.File] = true
	}
	if m.IVF != nil {
		named[m.IVF.File] = true
	}
	thumbs := map[string][]byte{}
	for _, l := range m.Labels {
		if l.Thumbnail == "" {
			continue
		}
		b, ok := files[l.Thumbnail]
		if !ok {
			return nil, nil, fmt.Errorf("%w: label %q names thumbnail %s, which it does not hold", ErrArchive, clip(l.ID), clip(l.Thumbnail))
		}
		if err := CheckThumbnail(l.Thumbnail, b); err != nil {
			return nil, nil, err
		}
		named[l.Thumbnail], thumbs[l.Thumbnail] = true, b
	}
	for name := range files {
		if !named[name] {
			return nil, nil, fmt.Errorf("%w: %s is not in its manifest", ErrArchive, name)
		}
	}
	p, err := OpenManifest(m, bytesFS(files), opts)
	if err != nil {
		return nil, nil, err
	}
	if len(thumbs) > 0 {
		p.Thumbnails = thumbs
	}
	return p, mb, nil
}

// LabelRows returns each label's rows (its sub-centres) dequantised, by label index: what a
// taught character imported from a pack is matched by.
func (p *Pack) LabelRows() [][][]float32 {
	out := make([][][]float32, len(p.Labels))
	for li := range p.lists {
		s := &p.lists[li]
		for r := 0; r < s.Len(); r++ {
			l := s.Labels[r]
			out[l] = append(out[l], s.Row(nil, r))
		}
	}
	return out
}
