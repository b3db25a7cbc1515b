package detect

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/toonid/toonid/model"
)

// maps builds a [5, gh, gw] output with every logit at -10 and the given cells set.
type cell struct {
	i, j                  int
	logit, dx, dy, lw, lh float32
}

func maps(gh, gw int, cells ...cell) []float32 {
	n := gh * gw
	out := make([]float32, 5*n)
	for k := 0; k < n; k++ {
		out[k] = -10
	}
	for _, c := range cells {
		k := c.i*gw + c.j
		out[k], out[n+k], out[2*n+k], out[3*n+k], out[4*n+k] = c.logit, c.dx, c.dy, c.lw, c.lh
	}
	return out
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func TestDecode(t *testing.T) {
	ln2, ln3 := float32(math.Log(2)), float32(math.Log(3))
	nan := float32(math.NaN())
	tests := []struct {
		name  string
		out   []float32
		scale float64
		thr   float32
		fw    int
		want  []Box
	}{
		{"nothing above threshold", maps(4, 4, cell{1, 1, -2, 0, 0, 0, 0}), 1, 0.3, 0, nil},
		{"one face: offset and log size", maps(4, 4, cell{2, 3, 2, 0.25, -0.25, ln2, ln3}), 1, 0.3, 0,
			[]Box{{(3.75)*16 - 16, (2.25)*16 - 24, 32, 48, sigmoid(2)}}},
		{"scale maps back to frame pixels", maps(4, 4, cell{0, 0, 2, 0, 0, 0, 0}), 0.5, 0.3, 0,
			[]Box{{0, 0, 32, 32, sigmoid(2)}}},
		{"only the local maximum of a blob", maps(4, 4, cell{1, 1, 3, 0, 0, 0, 0}, cell{1, 2, 2, 0, 0, 0, 0}, cell{2, 1, 1, 0, 0, 0, 0}), 1, 0.3, 0,
			[]Box{{16, 16, 16, 16, sigmoid(3)}}},
		{"two faces, best first", maps(4, 4, cell{0, 0, 1, 0, 0, 0, 0}, cell{3, 3, 4, 0, 0, 0, 0}), 1, 0.3, 0,
			[]Box{{48, 48, 16, 16, sigmoid(4)}, {0, 0, 16, 16, sigmoid(1)}}},
		{"NMS drops the overlapping weaker peak", maps(4, 4, cell{1, 1, 3, 0, 0, ln3, ln3}, cell{1, 3, 2, -1.5, 0, ln3, ln3}), 1, 0.3, 0,
			[]Box{{0, 0, 48, 48, sigmoid(3)}}},
		{"non-finite cells skipped", maps(4, 4, cell{0, 0, nan, 0, 0, 0, 0}, cell{3, 3, 3, nan, 0, 0, 0}, cell{1, 1, 2, 0, 0, 0, 0}), 1, 0.3, 0,
			[]Box{{16, 16, 16, 16, sigmoid(2)}}},
		{"clipped to the frame", maps(4, 4, cell{0, 0, 2, -0.5, -0.5, ln2, ln2}), 1, 0.3, 40,
			[]Box{{0, 0, 16, 16, sigmoid(2)}}},
		{"box outside the frame dropped", maps(4, 4, cell{3, 3, 2, 0, 0, 0, 0}), 1, 0.3, 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decode(tc.out, model.Shape{5, 4, 4}, 16, tc.scale, tc.thr, 0.5, tc.fw, tc.fw)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if !near(g.X, w.X) || !near(g.Y, w.Y) || !near(g.W, w.W) || !near(g.H, w.H) || !near(g.Score, w.Score) {
					t.Fatalf("box %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDecodeBadShape(t *testing.T) {
	if b := Decode(make([]float32, 10), model.Shape{5, 4, 4}, 16, 1, 0, 0.5, 0, 0); b != nil {
		t.Fatalf("short output decoded: %v", b)
	}
	if b := Decode(make([]float32, 4*16), model.Shape{4, 4, 4}, 16, 1, 0, 0.5, 0, 0); b != nil {
		t.Fatalf("4-channel output decoded: %v", b)
	}
}

func TestDecodeLimit(t *testing.T) {
	var cells []cell
	for i := 0; i < 30; i += 2 {
		for j := 0; j < 30; j += 2 {
			cells = append(cells, cell{i, j, float32(i*30 + j), 0, 0, -2, -2})
		}
	}
	got := Decode(maps(30, 30, cells...), model.Shape{5, 30, 30}, 8, 1, 0.5, 0.5, 0, 0)
	if len(got) != MaxBoxes {
		t.Fatalf("%d boxes, want %d", len(got), MaxBoxes)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Score > got[i-1].Score {
			t.Fatalf("not sorted at %d", i)
		}
	}
}

func TestNMSAndIoU(t *testing.T) {
	tests := []struct {
		name  string
		in    []Box
		iou   float32
		limit int
		want  int
	}{
		{"empty", nil, 0.5, 10, 0},
		{"identical boxes: one kept", []Box{{0, 0, 10, 10, 0.5}, {0, 0, 10, 10, 0.9}}, 0.5, 10, 1},
		{"disjoint boxes: both kept", []Box{{0, 0, 10, 10, 0.5}, {20, 20, 10, 10, 0.9}}, 0.5, 10, 2},
		{"IoU 1/3 below 0.5: both kept", []Box{{0, 0, 10, 10, 0.5}, {5, 0, 10, 10, 0.9}}, 0.5, 10, 2},
		{"IoU 1/3 above 0.3: one kept", []Box{{0, 0, 10, 10, 0.5}, {5, 0, 10, 10, 0.9}}, 0.3, 10, 1},
		{"limit", []Box{{0, 0, 1, 1, 0.5}, {5, 0, 1, 1, 0.9}, {10, 0, 1, 1, 0.7}}, 0.5, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NMS(append([]Box(nil), tc.in...), tc.iou, tc.limit)
			if len(got) != tc.want {
				t.Fatalf("kept %v, want %d", got, tc.want)
			}
			if len(got) > 0 && got[0].Score != 0.9 && len(tc.in) > 1 {
				t.Fatalf("best box not first: %v", got)
			}
		})
	}
	if v := IoU(Box{0, 0, 10, 10, 0}, Box{5, 0, 10, 10, 0}); !near(v, 1.0/3) {
		t.Fatalf("IoU %v, want 1/3", v)
	}
	if v := IoU(Box{0, 0, 0, 0, 0}, Box{0, 0, 0, 0, 0}); v != 0 {
		t.Fatalf("IoU of empty boxes %v", v)
	}
}

// tinyDetector: a 32x32 input, one 1x1 stride-4 conv to [5,8,8]: logit = 20*R - 10 (R on
// [0,1], mean 0, std 1), offsets and log sizes 0, so a white 4x4 square on black gives one
// 4x4 box at its cell.
func tinyDetector(t *testing.T, mirror bool) []byte {
	t.Helper()
	w := make([]float32, 5*3)
	w[0] = 20
	g := &model.Graph{InputC: 3, InputH: 32, InputW: 32, Std: [3]float32{1, 1, 1},
		Ops: []model.Op{{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 4, StrideW: 4, KH: 1, KW: 1,
			Weight: w, WeightShape: []int{5, 3, 1, 1}, Bias: []float32{-10, 0, 0, 0, 0}}}}
	b, err := model.Encode(g, model.EncodeOptions{Kind: model.KindDetector, Mirror: mirror,
		Decode: model.DetectDecode{Scheme: model.DecodeCenter5, Threshold: 0.5, NMS: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetectorEndToEnd(t *testing.T) {
	d, err := Load(tinyDetector(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if d.Info().Decode.Stride != 4 {
		t.Fatalf("stride %d, want 4", d.Info().Decode.Stride)
	}
	// a 64x64 frame (scale 0.5), a white 8x8 square at (16, 32): input cell (i=4+, j=2)
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{0, 0, 0, 255})
		}
	}
	for y := 32; y < 40; y++ {
		for x := 16; x < 24; x++ {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	boxes, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 1 {
		t.Fatalf("boxes %v, want 1", boxes)
	}
	// cell (4, 2) of stride 4: centre (10, 18) input px -> (20, 36) frame px, size 8
	b := boxes[0]
	if !near(b.X, 16) || !near(b.Y, 32) || !near(b.W, 8) || !near(b.H, 8) {
		t.Fatalf("box %+v, want 16,32 8x8", b)
	}
	// tiny and blank frames: no boxes, no error
	for name, im := range map[string]image.Image{
		"tiny":  image.NewRGBA(image.Rect(0, 0, 31, 200)),
		"blank": image.NewGray(image.Rect(0, 0, 100, 100)),
	} {
		bs, err := d.Detect(im)
		if err != nil || len(bs) != 0 {
			t.Fatalf("%s frame: %v, %v", name, bs, err)
		}
	}
}

func TestKindsRefused(t *testing.T) {
	// an embedder is not a detector
	g := &model.Graph{InputC: 3, InputH: 8, InputW: 8, Std: [3]float32{1, 1, 1},
		Ops: []model.Op{{Kind: model.OpGlobalAvgPool, In: [2]int{0, -1}}}}
	b, err := model.Encode(g, model.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(b); err == nil {
		t.Fatal("embedder loaded as a detector")
	}
	// a detector is not an embedder
	m, err := model.Load(tinyDetector(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Embed(make([]float32, m.InputLen())); err != model.ErrNotEmbedder {
		t.Fatalf("Embed on a detector: %v", err)
	}
}
