package collect

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nfnt/resize"
)

// Output files of Apply (README.md, "apply's output").
const (
	GalleryFile    = "gallery.tsv"             // `toonid pack build -gallery` input
	ICFFile        = "icartoonface.txt"        // iCartoonFace annotations: crop x1 y1 x2 y2 label_id
	ICFLabelsFile  = "icartoonface_labels.tsv" // label_id -> identity, name
	CropDir        = "crops"
	DefaultMaxSide = 512
)

// ApplyOptions configures Apply.
type ApplyOptions struct {
	// Root is the folder the proposals' image paths are relative to (default: proposals.json's root).
	Root string
	// MaxSide caps a written crop's longer side (default 512); larger crops are downscaled. The
	// model sees 96 px, so nothing is lost for the pack; training crops stay sharp.
	MaxSide   int
	MaxPixels int
}

// ApplyResult summarises what Apply wrote.
type ApplyResult struct {
	Identities int
	Crops      int
	Gallery    string // path of the gallery TSV
	ICF        string // path of the iCartoonFace annotation file
}

// Apply turns checked labels into a gallery: OUTDIR/crops/<proposal>.png (the box's pixels), a
// gallery TSV (path identity name series credit, paths relative to it) that `toonid pack build
// -gallery` reads, and an iCartoonFace annotation file (crop x1 y1 x2 y2 label_id, the face box
// being the central half of each crop, so model/train's enlarge(box, 2) gives the crop back) with
// its label table. Every source image is checked against the sha256 propose recorded.
func Apply(ctx context.Context, p *Proposals, l *Labels, labelsName, out string, opts ApplyOptions) (*ApplyResult, error) {
	if err := Check(p, l, labelsName); err != nil {
		return nil, err
	}
	if opts.Root == "" {
		opts.Root = p.Root
	}
	if opts.MaxSide <= 0 {
		opts.MaxSide = DefaultMaxSide
	}
	root, err := os.OpenRoot(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("collect: source images: %w (give the folder with -in)", err)
	}
	defer root.Close()
	crops := filepath.Join(out, CropDir)
	if _, err := os.Stat(crops); err == nil {
		if _, err := os.Stat(filepath.Join(out, GalleryFile)); err != nil {
			return nil, fmt.Errorf("collect: %s exists and %s has no %s: not overwriting a folder apply did not write", crops, out, GalleryFile)
		}
		if err := os.RemoveAll(crops); err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
	}
	if err := os.MkdirAll(crops, 0o755); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	idx := p.index()
	// Rows by image, so each image is decoded once.
	byImage := map[int][]LabelRow{}
	for _, r := range l.Rows {
		m := idx[r.Proposal]
		byImage[m.Image] = append(byImage[m.Image], r)
	}
	imgs := make([]int, 0, len(byImage))
	for i := range byImage {
		imgs = append(imgs, i)
	}
	sort.Ints(imgs)
	size := map[string][2]int{} // proposal -> written crop size
	for _, ii := range imgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		im := p.Images[ii]
		img, sum, err := readImage(root, im.Path, opts.MaxPixels)
		if err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		if sum != im.SHA256 || img.Rect.Dx() != im.Width || img.Rect.Dy() != im.Height {
			return nil, fmt.Errorf("collect: %s changed since propose (sha256 or size differs): propose again", im.Path)
		}
		for _, r := range byImage[ii] {
			b := idx[r.Proposal].Box
			if r.Box != nil {
				b = *r.Box
			}
			crop := cropImage(img, image.Rect(b[0], b[1], b[0]+b[2], b[1]+b[3]), opts.MaxSide)
			var buf bytes.Buffer
			if err := png.Encode(&buf, crop); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(crops, r.Proposal+".png"), buf.Bytes(), 0o644); err != nil {
				return nil, fmt.Errorf("collect: %w", err)
			}
			size[r.Proposal] = [2]int{crop.Rect.Dx(), crop.Rect.Dy()}
		}
	}
	// Label ids for iCartoonFace: identities in sorted order, from 0.
	var ids []string
	names := map[string]string{}
	for _, r := range l.Rows {
		if _, ok := names[r.Identity]; !ok {
			ids = append(ids, r.Identity)
			names[r.Identity] = r.Name
		}
	}
	sort.Strings(ids)
	labelID := map[string]int{}
	for i, id := range ids {
		labelID[id] = i
	}
	// Rows in labels.tsv order (the page writes clusters in review order).
	var gal, icf, icfl strings.Builder
	gal.WriteString("# written by toonid collect apply; paths are relative to this file\n")
	gal.WriteString("path\tidentity\tname\tseries\tcredit\n")
	for _, r := range l.Rows {
		rel := CropDir + "/" + r.Proposal + ".png"
		fmt.Fprintf(&gal, "%s\t%s\t%s\t%s\t%s\n", rel, r.Identity, r.Name, r.Series, r.Credit)
		s := size[r.Proposal]
		w, h := float64(s[0]), float64(s[1])
		fmt.Fprintf(&icf, "%s %s %s %s %s %d\n", rel, num(w/4), num(h/4), num(3*w/4), num(3*h/4), labelID[r.Identity])
	}
	icfl.WriteString("label_id\tidentity\tname\n")
	for i, id := range ids {
		fmt.Fprintf(&icfl, "%d\t%s\t%s\n", i, id, names[id])
	}
	for name, body := range map[string]string{GalleryFile: gal.String(), ICFFile: icf.String(), ICFLabelsFile: icfl.String()} {
		if err := writeFileAtomic(filepath.Join(out, name), []byte(body)); err != nil {
			return nil, err
		}
	}
	return &ApplyResult{Identities: len(ids), Crops: len(l.Rows),
		Gallery: filepath.Join(out, GalleryFile), ICF: filepath.Join(out, ICFFile)}, nil
}

// cropImage copies box out of img, downscaled (antialiased) when its longer side is over maxSide.
func cropImage(img *image.RGBA, box image.Rectangle, maxSide int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	draw.Draw(dst, dst.Rect, img, box.Min, draw.Src)
	if long := max(box.Dx(), box.Dy()); long > maxSide {
		w := max(1, box.Dx()*maxSide/long)
		h := max(1, box.Dy()*maxSide/long)
		small := resize.Resize(uint(w), uint(h), dst, resize.Bilinear)
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(out, out.Rect, small, small.Bounds().Min, draw.Src)
		return out
	}
	return dst
}

// num prints a coordinate as an integer when it is one.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
