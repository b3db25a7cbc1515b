package collect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/toonid/toonid/tools/eval"
)

// MaxFileBytes bounds one image file (the pixel count is bounded separately, from the header).
const MaxFileBytes = 256 << 20

// imageExts are the formats eval.DecodeImage reads.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true}

// walkImages lists the image files under root (lexical order, so consecutive video frames stay
// consecutive), and what it skipped and why. It never follows a symlinked directory; a symlinked
// file is opened later through the same os.Root, which refuses one that leads outside. Hidden
// files and folders (".git", "._x.jpg") are passed over silently.
func walkImages(fsys fs.FS) (paths []string, skipped []Skip, err error) {
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			skipped = append(skipped, Skip{Path: printable(p), Reason: err.Error()})
			return nil
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := checkRelPath(p); err != nil {
			skipped = append(skipped, Skip{Path: printable(p), Reason: "hostile or unusable name: " + err.Error()})
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		isImage := imageExts[strings.ToLower(path.Ext(p))]
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			// An image's symlink is followed, only inside the root (os.Root checks when opening);
			// a symlinked folder is not walked.
			if !isImage {
				skipped = append(skipped, Skip{Path: p, Reason: "symlink to a folder or a non-image: not followed"})
				return nil
			}
		case !d.Type().IsRegular():
			skipped = append(skipped, Skip{Path: p, Reason: "not a regular file"})
			return nil
		}
		if !isImage {
			skipped = append(skipped, Skip{Path: p, Reason: "not an image (want .png, .jpg, .jpeg or .gif)"})
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	return paths, skipped, err
}

// readImage reads one image through root (which refuses names leading outside it, symlinks
// included), checks its size limits and decodes it. It returns the RGBA pixels and the file's sha256.
func readImage(root *os.Root, name string, maxPixels int) (*image.RGBA, string, error) {
	b, err := readFile(root, name)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	img, err := eval.DecodeImage(bytes.NewReader(b), name, maxPixels)
	if err != nil {
		return nil, "", err
	}
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Rect.Min != (image.Point{}) {
		return nil, "", fmt.Errorf("%s: decoder returned %T", name, img)
	}
	return rgba, hex.EncodeToString(sum[:]), nil
}

// readConfig reads just the header: the image's size, checked against maxPixels (0:
// eval.MaxPixels) and the decoding byte limit.
func readConfig(root *os.Root, name string, maxPixels int) (image.Config, error) {
	f, err := root.Open(name)
	if err != nil {
		return image.Config{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return image.Config{}, err
	}
	if !st.Mode().IsRegular() {
		return image.Config{}, fmt.Errorf("%s: not a regular file", name)
	}
	if st.Size() > MaxFileBytes {
		return image.Config{}, fmt.Errorf("%s: %d bytes, over the limit of %d", name, st.Size(), MaxFileBytes)
	}
	// The same rule readImage's decode applies (pixels and decoding bytes, eval.CheckImage).
	return eval.CheckImage(f, name, maxPixels)
}

func readFile(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%s: over the limit of %d bytes", name, MaxFileBytes)
	}
	return b, nil
}

// printable quotes a name that is not safe to print as is.
func printable(p string) string {
	if checkText(p, maxPathLen, false) != nil {
		return fmt.Sprintf("%q", clip(p))
	}
	return p
}

// errEscape reports whether err is os.Root refusing a name that leads outside the root.
func errEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes")
}
