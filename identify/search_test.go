package identify

import (
	"image"
	"math"
	"slices"
	"testing"
)

// Every crop must lie inside the image and be square. A click at least Extent from every edge
// must keep every crop within Extent of it, because site/toonid.js sends only that region's
// pixels (near an edge crops move inward, inside the region the search was given).
func TestSearchCropsInsideImageAndExtent(t *testing.T) {
	s := DefaultSearch()
	for _, tc := range []struct {
		name string
		w, h int
		x, y float64
		unit float64 // the whole image's shorter side (the search may get only a region)
		far  bool    // the click is at least Extent from every edge
	}{
		{"region centre", 1000, 1000, 500, 500, 600, true},
		{"region off centre", 1000, 800, 480, 390, 600, true},
		{"centre", 1280, 720, 640, 360, 720, false},
		{"corner", 640, 360, 1, 1, 360, false},
		{"far corner", 640, 360, 639, 359, 360, false},
		{"portrait", 300, 900, 150, 100, 300, false},
		{"tiny", 20, 12, 10, 6, 12, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := tc.unit
			img := image.Rect(0, 0, tc.w, tc.h)
			coarse := s.Coarse(tc.x, tc.y, unit, tc.w, tc.h)
			if len(coarse) == 0 || len(coarse) > len(s.Scales) {
				t.Fatalf("%d coarse crops for %d scales", len(coarse), len(s.Scales))
			}
			all := append([]image.Rectangle{}, coarse...)
			for _, c := range coarse {
				all = append(all, s.Refine(c, tc.w, tc.h)...)
			}
			reach := s.Extent() * unit
			if far := tc.x >= reach && tc.y >= reach && float64(tc.w)-tc.x >= reach && float64(tc.h)-tc.y >= reach; far != tc.far {
				t.Fatalf("test case: far = %v, but the click is %v", tc.far, far)
			}
			for _, r := range all {
				if !r.In(img) || r.Empty() {
					t.Errorf("crop %v not inside %v", r, img)
				}
				if r.Dx() != r.Dy() {
					t.Errorf("crop %v not square", r)
				}
				if !tc.far {
					continue
				}
				d := math.Max(math.Max(tc.x-float64(r.Min.X), float64(r.Max.X)-tc.x), math.Max(tc.y-float64(r.Min.Y), float64(r.Max.Y)-tc.y))
				if d > reach+1 {
					t.Errorf("crop %v reaches %.1f px from the click, extent allows %.1f", r, d, reach)
				}
			}
		})
	}
}

func TestSearchCoarseCentresOnClick(t *testing.T) {
	s := Search{Scales: []float64{0.25, 0.5}, Shift: 0.2, RefineScale: 1.25}
	got := s.Coarse(200, 150, 300, 400, 300)
	want := []image.Rectangle{image.Rect(163, 113, 238, 188), image.Rect(125, 75, 275, 225)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("crop %d: got %v, want %v", i, got[i], want[i])
		}
	}
	fine := s.Refine(want[1], 400, 300)
	if len(fine) != 6 {
		t.Fatalf("refine: %d crops (%v), want 4 shifts + 2 scales", len(fine), fine)
	}
	if fine[0] != image.Rect(95, 75, 245, 225) || fine[4].Dx() != 120 || fine[5].Dx() != 188 {
		t.Errorf("refine: %v", fine)
	}
}

// Views is what teaching stores: the answered crop first, then exactly the refine neighbours the
// next click's search would try, every one square and inside the image.
func TestSearchViews(t *testing.T) {
	s := DefaultSearch()
	for _, tc := range []struct {
		name  string
		best  image.Rectangle
		w, h  int
		first image.Rectangle
	}{
		{"inside", image.Rect(100, 80, 200, 180), 400, 300, image.Rect(100, 80, 200, 180)},
		{"over the right edge: moved in", image.Rect(350, 80, 450, 180), 400, 300, image.Rect(300, 80, 400, 180)},
		{"not square: the longer side", image.Rect(100, 80, 200, 160), 400, 300, image.Rect(100, 70, 200, 170)},
		{"larger than the image: shrunk to fit", image.Rect(0, 0, 500, 500), 400, 300, image.Rect(100, 0, 400, 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := s.Views(tc.best, tc.w, tc.h)
			if len(v) == 0 || v[0] != tc.first {
				t.Fatalf("views %v, want %v first", v, tc.first)
			}
			want := append([]image.Rectangle{v[0]}, s.Refine(v[0], tc.w, tc.h)...)
			if !slices.Equal(v, want) {
				t.Errorf("views %v, want the crop and its refine neighbours %v", v, want)
			}
			for _, r := range v {
				if r.Dx() != r.Dy() || !r.In(image.Rect(0, 0, tc.w, tc.h)) {
					t.Errorf("view %v: not a square inside the %dx%d image", r, tc.w, tc.h)
				}
			}
		})
	}
}
