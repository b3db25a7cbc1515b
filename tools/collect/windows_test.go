package collect

import (
	"image"
	"reflect"
	"strings"
	"testing"
)

func TestWindows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w, h    int
		grid    []int
		minSide int
		want    int             // number of windows
		first   image.Rectangle // the first window: the whole-image square
	}{
		{"square image, whole only", 128, 128, []int{1}, 32, 1, image.Rect(0, 0, 128, 128)},
		// d=2: side 64, stride 32: 3x3; d=3: side 42, stride 21: 6x6.
		{"square image, default grid", 128, 128, DefaultGrid, 32, 1 + 9 + 36, image.Rect(0, 0, 128, 128)},
		{"wide frame, default grid", 1280, 544, DefaultGrid, 32, 4 + 27 + 84, image.Rect(0, 0, 544, 544)},
		{"tall image", 100, 300, []int{1}, 32, 5, image.Rect(0, 0, 100, 100)},
		{"tiny image keeps its whole square", 16, 16, DefaultGrid, 32, 1, image.Rect(0, 0, 16, 16)},
		{"min side drops small windows", 96, 96, []int{1, 2, 3, 4}, 40, 1 + 9, image.Rect(0, 0, 96, 96)},
		{"grid without the whole image", 200, 100, []int{2}, 32, 7 * 3, image.Rect(0, 0, 50, 50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := Windows(tc.w, tc.h, tc.grid, tc.minSide)
			if len(ws) != tc.want {
				t.Fatalf("%d windows, want %d: %v", len(ws), tc.want, ws)
			}
			if ws[0] != tc.first {
				t.Errorf("first window %v, want %v", ws[0], tc.first)
			}
			bounds := image.Rect(0, 0, tc.w, tc.h)
			seen := map[image.Rectangle]bool{}
			for _, r := range ws {
				if r.Dx() != r.Dy() || !r.In(bounds) || r.Empty() {
					t.Errorf("window %v: not a square inside %v", r, bounds)
				}
				if seen[r] {
					t.Errorf("window %v twice", r)
				}
				seen[r] = true
			}
			// Every pixel is covered by a window of every scale present.
			sides := map[int]bool{}
			for _, r := range ws {
				sides[r.Dx()] = true
			}
			for s := range sides {
				for _, p := range []image.Point{{0, 0}, {tc.w - 1, tc.h - 1}, {tc.w / 2, tc.h / 2}, {tc.w - 1, 0}} {
					ok := false
					for _, r := range ws {
						ok = ok || r.Dx() == s && p.In(r)
					}
					if !ok {
						t.Errorf("side %d: point %v not covered", s, p)
					}
				}
			}
		})
	}
	if ws := Windows(0, 10, DefaultGrid, 32); ws != nil {
		t.Errorf("empty image: %v", ws)
	}
}

func TestParseGrid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"", DefaultGrid, false},
		{"1", []int{1}, false},
		{" 1, 2 ,4,2", []int{1, 2, 4}, false},
		{"0", nil, true},
		{"13", nil, true},
		{"1,x", nil, true},
		{"none", nil, true},
	} {
		got, err := ParseGrid(tc.in)
		if (err != nil) != tc.err || !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseGrid(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestReadBoxes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		enlarge float64
		want    map[string][]image.Rectangle
		err     string
	}{
		{"faces.tsv layout (extra columns)", "path\tidentity\tx\ty\tw\th\tnote\nsintel.jpg\tsintel\t296\t69\t219\t219\ta frame\n", 1,
			map[string][]image.Rectangle{"sintel.jpg": {image.Rect(296, 69, 515, 288)}}, ""},
		{"several boxes, comments, CRLF", "# boxes\r\npath\tx\ty\tw\th\r\na/b.png\t0\t0\t10\t10\r\n\r\na/b.png\t5.4\t5.6\t10\t10\r\n", 1,
			map[string][]image.Rectangle{"a/b.png": {image.Rect(0, 0, 10, 10), image.Rect(5, 6, 15, 16)}}, ""},
		{"enlarge a face box into a square crop", "path\tx\ty\tw\th\nf.png\t10\t20\t20\t10\n", 2,
			map[string][]image.Rectangle{"f.png": {image.Rect(0, 5, 40, 45)}}, ""},
		{"missing column", "path\tx\ty\tw\nf.png\t1\t1\t1\n", 1, nil, `lacks column "h"`},
		{"not a number", "path\tx\ty\tw\th\nf.png\t1\tone\t1\t1\n", 1, nil, "y = \"one\""},
		{"non-finite", "path\tx\ty\tw\th\nf.png\tNaN\t1\t1\t1\n", 1, nil, "want a number"},
		{"negative size", "path\tx\ty\tw\th\nf.png\t1\t1\t-4\t1\n", 1, nil, "must be positive"},
		{"escaping path", "path\tx\ty\tw\th\n../etc/passwd\t1\t1\t4\t4\n", 1, nil, "not a clean relative path"},
		{"absolute path", "path\tx\ty\tw\th\n/etc/passwd\t1\t1\t4\t4\n", 1, nil, "not a clean relative path"},
		{"no header", "", 1, nil, "empty file"},
		{"bad enlarge", "path\tx\ty\tw\th\n", 0.5, nil, "enlarge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadBoxes(strings.NewReader(tc.in), "boxes.tsv", tc.enlarge)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
