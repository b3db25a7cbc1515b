package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"io/fs"
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
	// Kept lists files an earlier apply wrote that this one no longer writes but left in place,
	// because they changed since (paths relative to the output folder).
	Kept []string
}

// Apply turns checked labels into a gallery: OUTDIR/crops/<proposal>.png (the box's pixels), a
// gallery TSV (path identity name series credit, paths relative to it) that `toonid pack build
// -gallery` reads, and an iCartoonFace annotation file (crop x1 y1 x2 y2 label_id, the face box
// being the central half of each crop, so model/train's enlarge(box, 2) gives the crop back) with
// its label table. Every source image is checked against the sha256 propose recorded.
//
// Nothing in out changes until everything has been checked and written: the files are made in
// a temporary folder next to out and moved in at the end. Apply replaces or removes only files
// it wrote (listed with their sha256 in out/RecordFile) that are unchanged since; any other file
// where it would write is an error before anything is written, and other files are left alone.
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
	// What this run writes, and whether out lets it: before any decoding.
	targets := []string{GalleryFile, ICFFile, ICFLabelsFile}
	for _, r := range l.Rows {
		targets = append(targets, CropDir+"/"+r.Proposal+".png")
	}
	plan, err := planOutput(out, targets)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(plan.abs), "."+filepath.Base(plan.abs)+".apply-*")
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	moved := false
	defer func() {
		if !moved {
			os.RemoveAll(tmp) // made above: only what this run wrote is in it
		}
	}()
	if err := os.Mkdir(filepath.Join(tmp, CropDir), 0o755); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	rec := applyRecord{Format: recordFormat, Version: recordVersion}
	put := func(rel string, b []byte) error {
		if err := os.WriteFile(filepath.Join(tmp, filepath.FromSlash(rel)), b, 0o644); err != nil {
			return fmt.Errorf("collect: %w", err)
		}
		sum := sha256.Sum256(b)
		rec.Files = append(rec.Files, recordEntry{Path: rel, SHA256: hex.EncodeToString(sum[:])})
		return nil
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
			if err := put(CropDir+"/"+r.Proposal+".png", buf.Bytes()); err != nil {
				return nil, err
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
	for _, f := range []struct{ name, body string }{{ICFFile, icf.String()}, {ICFLabelsFile, icfl.String()}, {GalleryFile, gal.String()}} {
		if err := put(f.name, []byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kept, consumed, err := plan.commit(tmp, &rec)
	moved = consumed
	if err != nil {
		return nil, err
	}
	return &ApplyResult{Identities: len(ids), Crops: len(l.Rows), Kept: kept,
		Gallery: filepath.Join(out, GalleryFile), ICF: filepath.Join(out, ICFFile)}, nil
}

// RecordFile, in the output folder, lists every file apply wrote there with its sha256: a later
// apply replaces or removes a file only when it is listed and unchanged.
const RecordFile = "apply.json"

const (
	recordFormat   = "toonid-collect-apply"
	recordVersion  = 1
	maxRecordBytes = 64 << 20
)

type applyRecord struct {
	Format  string        `json:"format"`
	Version int           `json:"version"`
	Files   []recordEntry `json:"files"` // every file apply wrote, paths relative to the folder, "/"-separated
}

type recordEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// outputPlan is what Apply found in the output folder before writing anything.
type outputPlan struct {
	abs     string            // the output folder
	exists  bool              // it existed
	old     map[string]string // the earlier apply's record: path -> sha256 (nil: none)
	targets map[string]bool   // what this apply writes
}

// planOutput checks that out lets Apply write targets: each one that already exists must be a
// regular file the earlier apply wrote (in its record) and unchanged since. It reads no image.
func planOutput(out string, targets []string) (*outputPlan, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	pl := &outputPlan{abs: abs, targets: map[string]bool{}}
	for _, t := range targets {
		pl.targets[t] = true
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return pl, nil
	}
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("collect: %s is not a folder", out)
	}
	pl.exists = true
	if pl.old, err = readRecord(abs); err != nil {
		return nil, err
	}
	if st, err := os.Lstat(filepath.Join(abs, CropDir)); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("collect: %s is not a folder: not writing crops into it", filepath.Join(out, CropDir))
	}
	var conflicts []string
	for _, t := range targets {
		name := filepath.Join(abs, filepath.FromSlash(t))
		st, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		if !st.Mode().IsRegular() || !pl.unchanged(name, t) {
			conflicts = append(conflicts, t)
		}
	}
	if len(conflicts) > 0 {
		show := conflicts[:min(len(conflicts), 5)]
		more := ""
		if len(conflicts) > len(show) {
			more = fmt.Sprintf(" and %d more", len(conflicts)-len(show))
		}
		return nil, fmt.Errorf("collect: %s already holds %s%s, which apply did not write there (no %s lists it) or which changed since: "+
			"not overwriting; move them away or choose another -o", out, strings.Join(show, ", "), more, RecordFile)
	}
	return pl, nil
}

// unchanged reports whether the file at name is what the earlier record says apply wrote as rel.
func (pl *outputPlan) unchanged(name, rel string) bool {
	want, ok := pl.old[rel]
	if !ok {
		return false
	}
	got, err := fileSHA256(name)
	return err == nil && got == want
}

// commit moves what tmp holds into the output folder: by renaming tmp when the folder did not
// exist (consumed), else file by file, crops before the TSV files that name them. Then it
// removes what the earlier apply wrote and this one did not, when unchanged (changed ones are
// kept and returned), and writes the record last.
func (pl *outputPlan) commit(tmp string, rec *applyRecord) (kept []string, consumed bool, err error) {
	writeRecord := func(dir string) error {
		b, err := json.MarshalIndent(rec, "", " ")
		if err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(dir, RecordFile), append(b, '\n'))
	}
	if !pl.exists {
		if err := writeRecord(tmp); err != nil {
			return nil, false, err
		}
		if err := os.Rename(tmp, pl.abs); err != nil {
			return nil, false, fmt.Errorf("collect: %w", err)
		}
		return nil, true, nil
	}
	if err := os.MkdirAll(filepath.Join(pl.abs, CropDir), 0o755); err != nil {
		return nil, false, fmt.Errorf("collect: %w", err)
	}
	for i, f := range rec.Files { // put in order: crops, then the TSV files, gallery.tsv last
		if err := os.Rename(filepath.Join(tmp, filepath.FromSlash(f.Path)), filepath.Join(pl.abs, filepath.FromSlash(f.Path))); err != nil {
			return nil, false, fmt.Errorf("collect: moving the new output into place: %w (%d of %d files moved; nothing removed)", err, i, len(rec.Files))
		}
	}
	stale := make([]string, 0, len(pl.old))
	for rel := range pl.old {
		if !pl.targets[rel] {
			stale = append(stale, rel)
		}
	}
	sort.Strings(stale)
	for _, rel := range stale {
		name := filepath.Join(pl.abs, filepath.FromSlash(rel))
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if !pl.unchanged(name, rel) {
			kept = append(kept, rel) // no longer apply's: the record stops listing it
			continue
		}
		if err := os.Remove(name); err != nil {
			rec.Files = append(rec.Files, recordEntry{Path: rel, SHA256: pl.old[rel]}) // still ours
		}
	}
	return kept, false, writeRecord(pl.abs)
}

// readRecord reads the output folder's record: nil when there is none, an error when the file
// is there but is not a record apply wrote (or lists a file apply never writes).
func readRecord(dir string) (map[string]string, error) {
	name := filepath.Join(dir, RecordFile)
	st, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("collect: %s is not a record collect apply wrote (%s): not writing into %s", name, why, dir)
	}
	if !st.Mode().IsRegular() || st.Size() > maxRecordBytes {
		return nil, bad("not a regular file of at most 64 MiB")
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	var rec applyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, bad(err.Error())
	}
	if rec.Format != recordFormat || rec.Version != recordVersion {
		return nil, bad(fmt.Sprintf("format %q version %d", clip(rec.Format), rec.Version))
	}
	m := make(map[string]string, len(rec.Files))
	for _, f := range rec.Files {
		if !recordPath(f.Path) || len(f.SHA256) != 64 {
			return nil, bad(fmt.Sprintf("it lists %q, not a file apply writes", clip(f.Path)))
		}
		m[f.Path] = f.SHA256
	}
	return m, nil
}

// recordPath reports whether p is a name apply writes: one of its TSV files or crops/<name>.png.
func recordPath(p string) bool {
	switch p {
	case GalleryFile, ICFFile, ICFLabelsFile:
		return true
	}
	name, ok := strings.CutPrefix(p, CropDir+"/")
	return ok && len(name) > len(".png") && len(name) <= 255 && strings.HasSuffix(name, ".png") &&
		!strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\\x00")
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
