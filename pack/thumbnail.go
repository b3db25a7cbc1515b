package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
)

// Thumbnails (FORMAT.md, "Thumbnails"): a label's optional catalogue picture, a small square
// JPEG named by the sha256 of its bytes, so it is cached and verified like a shard. Making one
// needs an image encoder, which the browser's wasm build does not link: that is package
// pack/thumb; this file only names and checks them.
const (
	// ThumbnailExt is the one thumbnail file type.
	ThumbnailExt = ".jpg"
	// MaxThumbnailBytes bounds one thumbnail file.
	MaxThumbnailBytes = 64 << 10
)

// ThumbnailName is the file name of a thumbnail with these bytes: <sha256>.jpg.
func ThumbnailName(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]) + ThumbnailExt
}

// validThumbnailName reports whether s has the form <64 lower-case hex>.jpg.
func validThumbnailName(s string) bool {
	sum, ok := strings.CutSuffix(s, ThumbnailExt)
	return ok && isHex64(sum)
}

// CheckThumbnail verifies the bytes of the thumbnail file name: at most MaxThumbnailBytes, a
// JPEG (its start-of-image marker), and hashing to the sha256 the name carries.
func CheckThumbnail(name string, b []byte) error {
	if !validThumbnailName(name) {
		return fmt.Errorf("pack: thumbnail %q: want <sha256>%s", clip(name), ThumbnailExt)
	}
	if len(b) > MaxThumbnailBytes {
		return fmt.Errorf("pack: thumbnail %s: %d bytes, limit %d", name, len(b), MaxThumbnailBytes)
	}
	if !bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) {
		return fmt.Errorf("pack: thumbnail %s: not a JPEG", name)
	}
	if got := ThumbnailName(b); got != name {
		return fmt.Errorf("pack: thumbnail %s: sha256 mismatch (the bytes hash to %s)", name, strings.TrimSuffix(got, ThumbnailExt))
	}
	return nil
}

// ReadThumbnail reads and verifies the thumbnail of label l from fsys (nil, nil when l has none).
func ReadThumbnail(fsys fs.FS, l Label) ([]byte, error) {
	if l.Thumbnail == "" {
		return nil, nil
	}
	if !validThumbnailName(l.Thumbnail) {
		return nil, fmt.Errorf("pack: label %q: thumbnail %q: want <sha256>%s", clip(l.ID), clip(l.Thumbnail), ThumbnailExt)
	}
	b, err := readLimited(fsys, l.Thumbnail, MaxThumbnailBytes)
	if err != nil {
		return nil, fmt.Errorf("label %q: %w", clip(l.ID), err)
	}
	if err := CheckThumbnail(l.Thumbnail, b); err != nil {
		return nil, fmt.Errorf("label %q: %w", clip(l.ID), err)
	}
	return b, nil
}

// SetThumbnail gives the label with this id the thumbnail b (a JPEG; pack/thumb makes one),
// which Encode and WriteDir then write beside the shards as <sha256>.jpg.
func (p *Pack) SetThumbnail(id string, b []byte) error {
	name := ThumbnailName(b)
	if err := CheckThumbnail(name, b); err != nil {
		return err
	}
	for i := range p.Labels {
		if p.Labels[i].ID == id {
			if p.Thumbnails == nil {
				p.Thumbnails = map[string][]byte{}
			}
			p.Labels[i].Thumbnail = name
			p.Thumbnails[name] = b
			return nil
		}
	}
	return fmt.Errorf("pack: thumbnail for %q: no such label", clip(id))
}
