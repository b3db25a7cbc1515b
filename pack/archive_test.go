package pack

import (
	"archive/tar"
	"bytes"
	"errors"
	"image/color"
	"strings"
	"testing"
)

// archived is smallPack with a thumbnail on its first label, as a pack archive.
func archived(t *testing.T) (*Pack, []byte) {
	t.Helper()
	p, _ := smallPack(t)
	if err := p.SetThumbnail(p.Labels[0].ID, testJPEG(t, 8, 8, color.RGBA{200, 40, 40, 255})); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := p.WriteArchive(&b, EncodeOptions{ShardRows: 8}); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

func TestArchiveRoundTrip(t *testing.T) {
	p, b := archived(t)
	var again bytes.Buffer
	if _, err := p.WriteArchive(&again, EncodeOptions{ShardRows: 8}); err != nil || !bytes.Equal(again.Bytes(), b) {
		t.Fatalf("a second archive of the same pack differs (err %v)", err)
	}
	q, mb, err := OpenArchive(bytes.NewReader(b), OpenOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if q.Name != p.Name || len(q.Labels) != len(p.Labels) || q.Rows() != p.Rows() || !bytes.Contains(mb, []byte(`"toonid-pack"`)) {
		t.Fatalf("reopened %q: %d labels, %d rows; want %q, %d, %d", q.Name, len(q.Labels), q.Rows(), p.Name, len(p.Labels), p.Rows())
	}
	if len(q.Thumbnails) != 1 || !bytes.Equal(q.Thumbnails[q.Labels[0].Thumbnail], p.Thumbnails[p.Labels[0].Thumbnail]) {
		t.Fatal("thumbnail lost")
	}
	// The last entry is the manifest, so a reader streaming the tar sees it after its shards.
	tr := tar.NewReader(bytes.NewReader(b))
	var last string
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		last = h.Name
	}
	if last != SumsFile {
		t.Errorf("last entry %q, want %s", last, SumsFile)
	}
	// LabelRows gives each label its sub-centres, which match it best.
	m, _ := NewMatcher(q)
	for li, rows := range q.LabelRows() {
		if len(rows) == 0 {
			t.Fatalf("label %d has no rows", li)
		}
		r, err := m.Match(rows[0], 1)
		if err != nil || r.Answers[0].ID != q.Labels[li].ID {
			t.Errorf("label %d's own row matches %v (%v)", li, r.Answers, err)
		}
	}
	if _, _, err := OpenArchive(bytes.NewReader(b), OpenOptions{ModelSHA256: "ff" + testModel[2:]}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("another model's archive: %v", err)
	}
}

// Every truncation that cuts content and every flipped byte of an archive is refused with an
// error, never a pack that differs from the one written.
func TestArchiveCorrupt(t *testing.T) {
	_, b := archived(t)
	mb, _, err := ReadArchive(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// SHA256SUMS is last: past its bytes only tar padding and end blocks are cut, no content.
	end := bytes.LastIndex(b, []byte(ManifestFile+"\n")) + len(ManifestFile) + 1
	_ = mb
	for n := 0; n < end; n += 37 {
		if _, _, err := OpenArchive(bytes.NewReader(b[:n]), OpenOptions{}); err == nil {
			t.Fatalf("truncated at %d of %d bytes: accepted", n, len(b))
		}
	}
	flipped := 0
	for n := 0; n < len(b)-1024; n += 61 {
		c := bytes.Clone(b)
		c[n] ^= 0x5a
		p, _, err := OpenArchive(bytes.NewReader(c), OpenOptions{})
		if err == nil {
			// A flip in padding or an unused header field changes no content: the pack read must be
			// the one written, byte for byte once archived again.
			var again bytes.Buffer
			if _, err := p.WriteArchive(&again, EncodeOptions{ShardRows: 8}); err != nil || !bytes.Equal(again.Bytes(), b) {
				t.Fatalf("flip at %d accepted, and the pack differs (%v)", n, err)
			}
			continue
		}
		flipped++
	}
	if flipped == 0 {
		t.Fatal("no flipped byte refused")
	}
}

func TestArchiveRejects(t *testing.T) {
	_, good := archived(t)
	entries := func(b []byte) map[string][]byte {
		mb, files, err := ReadArchive(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		files[ManifestFile] = mb
		return files
	}
	var sumsOf func(skip string) []byte
	files := entries(good)
	tarOf := func(add func(tw *tar.Writer)) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		add(tw)
		tw.Close()
		return b.Bytes()
	}
	file := func(tw *tar.Writer, name string, body []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	all := func(tw *tar.Writer, skip string) {
		for n, body := range files {
			if n != skip && n != ManifestFile {
				file(tw, n, body)
			}
		}
		if skip != ManifestFile {
			file(tw, ManifestFile, files[ManifestFile])
		}
		file(tw, SumsFile, sumsOf(skip))
	}
	sumsOf = func(skip string) []byte {
		m := map[string][]byte{}
		for n, b := range files {
			if n != skip {
				m[n] = b
			}
		}
		return sums(m)
	}
	var shard, thumb string
	for n := range files {
		if strings.HasSuffix(n, ShardExt) {
			shard = n
		} else if strings.HasSuffix(n, ThumbnailExt) {
			thumb = n
		}
	}
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"empty", "no manifest.json", nil},
		{"not a tar", "truncated or corrupt", []byte(strings.Repeat("not a tar ", 100))},
		{"no manifest", "no manifest.json", tarOf(func(tw *tar.Writer) { all(tw, ManifestFile) })},
		{"no sums", "no SHA256SUMS", tarOf(func(tw *tar.Writer) {
			for n, body := range files {
				file(tw, n, body)
			}
		})},
		{"after the sums", "must come last", tarOf(func(tw *tar.Writer) { all(tw, ""); file(tw, strings.Repeat("b", 64)+ShardExt, []byte("x")) })},
		{"manifest changed", "SHA256SUMS does not match", tarOf(func(tw *tar.Writer) {
			for n, body := range files {
				if n == ManifestFile {
					body = bytes.Replace(body, []byte(`"small"`), []byte(`"smalL"`), 1)
				}
				file(tw, n, body)
			}
			file(tw, SumsFile, sumsOf(""))
		})},
		{"missing shard", "file does not exist", tarOf(func(tw *tar.Writer) { all(tw, shard) })},
		{"missing thumbnail", "which it does not hold", tarOf(func(tw *tar.Writer) { all(tw, thumb) })},
		{"extra file", "not in its manifest", tarOf(func(tw *tar.Writer) {
			extra := strings.Repeat("a", 64) + ShardExt
			files[extra] = []byte("x")
			all(tw, "")
			delete(files, extra)
		})},
		{"a folder", "not a regular file", tarOf(func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755})
			all(tw, "")
		})},
		{"a symlink", "not a regular file", tarOf(func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: ManifestFile, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
		})},
		{"a path", "not a file a pack holds", tarOf(func(tw *tar.Writer) { file(tw, "../manifest.json", files[ManifestFile]) })},
		{"twice", "twice", tarOf(func(tw *tar.Writer) { file(tw, shard, files[shard]); all(tw, "") })},
		{"shard bytes changed", "sha256", tarOf(func(tw *tar.Writer) {
			sumsGood := sumsOf("")
			bad := bytes.Clone(files[shard])
			bad[len(bad)-1] ^= 1
			for n, body := range files {
				if n == shard {
					body = bad
				}
				file(tw, n, body)
			}
			file(tw, SumsFile, sumsGood)
		})},
		{"thumbnail too big", "limit", tarOf(func(tw *tar.Writer) { file(tw, thumb, make([]byte, MaxThumbnailBytes+1)) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := OpenArchive(bytes.NewReader(tc.b), OpenOptions{ModelSHA256: testModel})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
