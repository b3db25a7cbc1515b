package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
)

// The model file format is documented in FORMAT.md; keep the two in step.

const (
	magic        = "TMDL"
	Version      = 2 // the model file version this package writes; it also reads version 1
	headerSizeV1 = 96
	headerSize   = 128 // version 2: the v1 header, u32 flags at 96, zero bytes up to 128
	flagsOffset  = 96
	opRecSize    = 68
	tensRecSize  = 40
	dataAlign    = 32
	sumOffset    = 8 // sha256 of everything after byte 40
	sumEnd       = 40
)

// Header flags (version 2, u32 at offset 96). Unknown bits are refused.
const (
	flagMirror = 1 << 0 // Embed averages the network over the input and its horizontal mirror
	knownFlags = flagMirror
)

// Model kinds (version 2, u32 at offset 100; 0 in every file written before the field, so old
// files load as embedders). Values are frozen.
const (
	kindOffset   = 100
	decodeOffset = 104 // a detector's decode record, bytes 104..128
)

// Kind says what a model file's network is and so how its output is read.
type Kind uint32

const (
	KindEmbedder Kind = 0 // output [N,1,1]: an embedding (Embed L2-normalises it)
	KindDetector Kind = 1 // output [C,H,W]: raw detection maps, decoded as Info().Decode says
	maxKind           = 1
)

func (k Kind) String() string {
	switch k {
	case KindEmbedder:
		return "embedder"
	case KindDetector:
		return "detector"
	}
	return fmt.Sprintf("Kind(%d)", uint32(k))
}

// Detector output decodings (the decode record's scheme byte). Values are frozen.
const (
	// DecodeCenter5: 5 channels per output cell (i, j) of a grid with stride s = input/grid:
	// 0 centre logit (score = sigmoid), 1-2 dx, dy (centre = ((j+0.5+dx)·s, (i+0.5+dy)·s)),
	// 3-4 lw, lh (size = exp(lw)·s by exp(lh)·s); faces are 3x3 local maxima of the score.
	DecodeCenter5 = 1
	maxDecode     = 1
)

// DetectDecode is a detector's decode record (FORMAT.md): the scheme and its defaults.
type DetectDecode struct {
	Scheme    uint8
	Threshold float32 // default minimum score, in [0, 1]
	NMS       float32 // IoU above which a lower-scored box is suppressed, in (0, 1]
	Stride    int     // input pixels per output cell (derived from the shapes, not stored)
}

// checkKind verifies that the output shape fits the kind and, for a detector, its decode record;
// it returns the record with Stride filled in.
func checkKind(k Kind, dec DetectDecode, out Shape, inH, inW int, mirror bool) (DetectDecode, error) {
	switch k {
	case KindEmbedder:
		if dec != (DetectDecode{}) {
			return dec, fmt.Errorf("model: an embedder with a detector's decode record: %w", errCorrupt)
		}
		if out[1] != 1 || out[2] != 1 {
			return dec, fmt.Errorf("model: an embedder must output [N,1,1], the graph outputs %v", out)
		}
	case KindDetector:
		if mirror {
			return dec, fmt.Errorf("model: the mirror-average flag is for embedders, not detectors: %w", errCorrupt)
		}
		if dec.Scheme == 0 || dec.Scheme > maxDecode {
			return dec, fmt.Errorf("model: detector decode scheme %d unknown (this build knows 1, centre+size): %w", dec.Scheme, errCorrupt)
		}
		if !(dec.Threshold >= 0 && dec.Threshold <= 1) || !(dec.NMS > 0 && dec.NMS <= 1) {
			return dec, fmt.Errorf("model: detector threshold %v / NMS IoU %v out of range: %w", dec.Threshold, dec.NMS, errCorrupt)
		}
		if out[0] != 5 {
			return dec, fmt.Errorf("model: a centre+size detector outputs 5 channels, the graph %v", out)
		}
		if out[1] < 1 || out[2] < 1 || inH%out[1] != 0 || inW%out[2] != 0 || inH/out[1] != inW/out[2] {
			return dec, fmt.Errorf("model: detector output grid %dx%d does not divide the %dx%d input evenly", out[1], out[2], inH, inW)
		}
		dec.Stride = inH / out[1]
	default:
		return dec, fmt.Errorf("model: model kind %d unknown (this build knows 0 embedder, 1 detector): %w", uint32(k), errCorrupt)
	}
	return dec, nil
}

// Tensor types. The IDs are frozen: a removed type leaves a hole.
const (
	tensorF32  = 1 // little-endian float32 values
	tensorQ8PC = 2 // per-output-channel symmetric int8: float32 scale[dims[0]], then int8 values
)

const noTensor = math.MaxUint32

var (
	errTooLarge = errors.New("model: activations exceed the size limit")
	errCorrupt  = errors.New("model: corrupt file")
)

// EncodeOptions choose how Encode stores weights.
type EncodeOptions struct {
	// Int8 stores Conv and Dense weights as per-output-channel symmetric int8 (4x smaller).
	// Biases, PRelu slopes and constants always stay float32.
	Int8 bool
	// F32Dense keeps fully connected (Dense) weights float32 even when Int8 is set. The
	// embedding projection is a few percent of the weights, but a whitened projection
	// amplifies low-variance directions, where int8 rounding costs the most cosine.
	F32Dense bool
	// F32Depthwise keeps depthwise convolution weights (group = channels, one input channel
	// per group) float32 even when Int8 is set: they are ~5% of a MobileNetV2's weights, and
	// nine taps per channel share one int8 scale, so they carry most of its rounding error.
	F32Depthwise bool
	// Mirror sets the file's mirror-average flag: Embed then runs the network on the input
	// and on its horizontal mirror and returns the normalised sum of the two normalised
	// outputs (flip test-time augmentation). Forward stays one pass.
	Mirror bool
	// Kind and Decode: what the network is (default an embedder) and, for a detector, how
	// its output is decoded (Decode.Stride is derived, not stored).
	Kind   Kind
	Decode DetectDecode
}

// Encode writes g as a model file. It validates g first.
func Encode(g *Graph, opt EncodeOptions) ([]byte, error) {
	shapes0, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	dec := opt.Decode
	dec.Stride = 0
	if _, err := checkKind(opt.Kind, dec, shapes0[len(shapes0)-1], g.InputH, g.InputW, opt.Mirror); err != nil {
		return nil, err
	}
	type tens struct {
		kind byte
		dims []int
		data []byte
	}
	var ts []tens
	addF32 := func(v []float32, dims []int) uint32 {
		if v == nil {
			return noTensor
		}
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		ts = append(ts, tens{tensorF32, dims, b})
		return uint32(len(ts) - 1)
	}
	addWeight := func(op *Op) uint32 {
		if !opt.Int8 || (op.Kind != OpConv && op.Kind != OpDense) || (opt.F32Dense && op.Kind == OpDense) ||
			(opt.F32Depthwise && op.Kind == OpConv && op.Group > 1 && len(op.WeightShape) == 4 && op.WeightShape[1] == 1) {
			return addF32(op.Weight, op.WeightShape)
		}
		scales, q := quantizePerChannel(op.Weight, op.WeightShape[0])
		b := make([]byte, 4*len(scales)+len(q))
		for i, s := range scales {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(s))
		}
		for i, v := range q {
			b[4*len(scales)+i] = byte(v)
		}
		ts = append(ts, tens{tensorQ8PC, op.WeightShape, b})
		return uint32(len(ts) - 1)
	}
	ops := make([]byte, 0, opRecSize*len(g.Ops))
	for i := range g.Ops {
		op := &g.Ops[i]
		var r [opRecSize]byte
		r[0], r[1] = byte(op.Kind), byte(op.Act.Kind)
		if op.CountIncludePad {
			r[2] = 1
		}
		le := binary.LittleEndian
		le.PutUint32(r[4:], uint32(int32(op.In[0])))
		le.PutUint32(r[8:], uint32(int32(op.In[1])))
		for j, v := range []int{op.Group, op.StrideH, op.StrideW, op.KH, op.KW, op.Pads[0], op.Pads[1], op.Pads[2], op.Pads[3]} {
			le.PutUint32(r[12+4*j:], uint32(v))
		}
		le.PutUint32(r[48:], math.Float32bits(op.Act.A))
		le.PutUint32(r[52:], math.Float32bits(op.Act.B))
		le.PutUint32(r[56:], addWeight(op))
		le.PutUint32(r[60:], addF32(op.Bias, []int{len(op.Bias)}))
		le.PutUint32(r[64:], addF32(op.Act.Slope, []int{len(op.Act.Slope)}))
		ops = append(ops, r[:]...)
	}
	le := binary.LittleEndian
	hdr := make([]byte, headerSize)
	copy(hdr, magic)
	le.PutUint32(hdr[4:], Version)
	if opt.Mirror {
		le.PutUint32(hdr[flagsOffset:], flagMirror)
	}
	le.PutUint32(hdr[kindOffset:], uint32(opt.Kind))
	if opt.Kind == KindDetector {
		hdr[decodeOffset] = dec.Scheme
		le.PutUint32(hdr[decodeOffset+4:], math.Float32bits(dec.Threshold))
		le.PutUint32(hdr[decodeOffset+8:], math.Float32bits(dec.NMS))
	}
	for i, v := range []uint32{uint32(g.InputC), uint32(g.InputH), uint32(g.InputW), 0} {
		le.PutUint32(hdr[40+4*i:], v)
	}
	shapes, _ := g.Shapes()
	le.PutUint32(hdr[52:], uint32(shapes[len(shapes)-1].Size()))
	for i := 0; i < 3; i++ {
		le.PutUint32(hdr[56+4*i:], math.Float32bits(g.Mean[i]))
		le.PutUint32(hdr[68+4*i:], math.Float32bits(g.Std[i]))
	}
	le.PutUint32(hdr[80:], uint32(len(g.Ops)))
	le.PutUint32(hdr[84:], uint32(len(ts)))
	tabEnd := headerSize + len(ops) + tensRecSize*len(ts)
	dataOff := alignUp(tabEnd, dataAlign)
	tab := make([]byte, 0, tensRecSize*len(ts))
	var data []byte
	for _, t := range ts {
		var r [tensRecSize]byte
		r[0], r[1] = t.kind, byte(len(t.dims))
		for j, d := range t.dims {
			le.PutUint32(r[4+4*j:], uint32(d))
		}
		off := alignUp(len(data), dataAlign)
		data = append(data, make([]byte, off-len(data))...)
		le.PutUint64(r[20:], uint64(off))
		le.PutUint64(r[28:], uint64(len(t.data)))
		data = append(data, t.data...)
		tab = append(tab, r[:]...)
	}
	le.PutUint32(hdr[88:], uint32(dataOff))
	le.PutUint32(hdr[92:], uint32(len(data)))
	out := make([]byte, 0, dataOff+len(data))
	out = append(out, hdr...)
	out = append(out, ops...)
	out = append(out, tab...)
	out = append(out, make([]byte, dataOff-tabEnd)...)
	out = append(out, data...)
	sum := sha256.Sum256(out[sumEnd:])
	copy(out[sumOffset:], sum[:])
	return out, nil
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// quantizePerChannel returns symmetric int8 weights with one scale per output channel
// (the first dimension): q = round(w/scale), scale = max|w|/127.
func quantizePerChannel(w []float32, oc int) ([]float32, []int8) {
	per := len(w) / oc
	scales := make([]float32, oc)
	q := make([]int8, len(w))
	for c := 0; c < oc; c++ {
		row := w[c*per : (c+1)*per]
		m := maxAbs(row)
		if m == 0 {
			continue
		}
		s := m / 127
		scales[c] = s
		for i, v := range row {
			q[c*per+i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
	}
	return scales, q
}

// decodedFile is what decode reads: the graph with float weights, and facts about the file.
type decodedFile struct {
	g        Graph
	embedDim int
	int8     bool
	mirror   bool // header flag bit 0 (version 2)
	kind     Kind
	dec      DetectDecode
	sum      [32]byte
}

// Checksum returns a model file's content address (FORMAT.md, "Content address"): the hex
// sha256 of every byte after offset 40, which the file also carries at bytes 8..40. Stores and
// pack manifests name a model by it, not by the sha256 of the whole file, so a name can be
// checked from the header alone. Checksum verifies the magic, the version, the length and that
// the stored sum matches, and nothing else: Load checks the rest.
func Checksum(b []byte) (string, error) {
	sum, _, err := checksum(b)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// checksum is Checksum returning the raw sum and the header length of the file's version.
func checksum(b []byte) (sum [sha256.Size]byte, hdrLen uint64, err error) {
	le := binary.LittleEndian
	if len(b) < headerSizeV1 {
		return sum, 0, fmt.Errorf("model: file is %d bytes, shorter than the %d-byte header", len(b), headerSizeV1)
	}
	if !bytes.Equal(b[:4], []byte(magic)) {
		return sum, 0, fmt.Errorf("model: bad magic %q (not a toonid model file)", b[:4])
	}
	switch v := le.Uint32(b[4:]); v {
	case 1:
		hdrLen = headerSizeV1
	case 2:
		hdrLen = headerSize
	default:
		return sum, 0, fmt.Errorf("model: file version %d, this build reads versions 1 and 2", v)
	}
	if uint64(len(b)) < hdrLen {
		return sum, 0, fmt.Errorf("model: file is %d bytes, shorter than the %d-byte version-2 header", len(b), hdrLen)
	}
	sum = sha256.Sum256(b[sumEnd:])
	if !bytes.Equal(sum[:], b[sumOffset:sumEnd]) {
		return sum, 0, fmt.Errorf("model: sha256 mismatch (file truncated or corrupted)")
	}
	return sum, hdrLen, nil
}

// decode parses and verifies a model file. It checks sizes against the file length before
// allocating, so a hostile header cannot make it allocate more than a few times len(b).
func decode(b []byte) (*decodedFile, error) {
	le := binary.LittleEndian
	sum, hdrLen, err := checksum(b)
	if err != nil {
		return nil, err
	}
	d := &decodedFile{sum: sum}
	if hdrLen == headerSize {
		flags := le.Uint32(b[flagsOffset:])
		if flags&^knownFlags != 0 {
			return nil, fmt.Errorf("model: header flags %#x have unknown bits %#x (this build knows bit 0, mirror-average): %w", flags, flags&^knownFlags, errCorrupt)
		}
		d.mirror = flags&flagMirror != 0
		d.kind = Kind(le.Uint32(b[kindOffset:]))
		if d.kind > maxKind {
			return nil, fmt.Errorf("model: model kind %d unknown (this build knows 0 embedder, 1 detector): %w", uint32(d.kind), errCorrupt)
		}
		zero := b[decodeOffset:headerSize] // an embedder: all reserved
		if d.kind == KindDetector {
			d.dec.Scheme = b[decodeOffset]
			d.dec.Threshold = math.Float32frombits(le.Uint32(b[decodeOffset+4:]))
			d.dec.NMS = math.Float32frombits(le.Uint32(b[decodeOffset+8:]))
			if b[decodeOffset+1]|b[decodeOffset+2]|b[decodeOffset+3] != 0 {
				return nil, fmt.Errorf("model: reserved decode bytes 105..108 not 0: %w", errCorrupt)
			}
			zero = b[decodeOffset+12 : headerSize]
		}
		for i, c := range zero {
			if c != 0 {
				return nil, fmt.Errorf("model: reserved header byte %d is %#x, want 0: %w", headerSize-len(zero)+i, c, errCorrupt)
			}
		}
	}
	g := &d.g
	g.InputC, g.InputH, g.InputW = int(le.Uint32(b[40:])), int(le.Uint32(b[44:])), int(le.Uint32(b[48:]))
	d.embedDim = int(le.Uint32(b[52:]))
	for i := 0; i < 3; i++ {
		g.Mean[i] = math.Float32frombits(le.Uint32(b[56+4*i:]))
		g.Std[i] = math.Float32frombits(le.Uint32(b[68+4*i:]))
		if !(g.Std[i] > 1e-6 && g.Std[i] < 1e6) || math.IsNaN(float64(g.Mean[i])) || math.Abs(float64(g.Mean[i])) > 1e6 {
			return nil, fmt.Errorf("model: normalisation mean %v std %v out of range", g.Mean, g.Std)
		}
	}
	nOps, nTens := uint64(le.Uint32(b[80:])), uint64(le.Uint32(b[84:]))
	dataOff, dataLen := uint64(le.Uint32(b[88:])), uint64(le.Uint32(b[92:]))
	if nOps == 0 || nOps > maxOps || nTens > 3*nOps {
		return nil, fmt.Errorf("model: %d ops, %d tensors out of range", nOps, nTens)
	}
	tabEnd := hdrLen + opRecSize*nOps + tensRecSize*nTens
	if dataOff%dataAlign != 0 || dataOff < tabEnd || dataOff+dataLen != uint64(len(b)) {
		return nil, fmt.Errorf("model: data section at %d+%d does not fit the %d-byte file: %w", dataOff, dataLen, len(b), errCorrupt)
	}
	data := b[dataOff:]
	type tens struct {
		kind byte
		dims []int
		vals []float32
		used bool
	}
	ts := make([]tens, nTens)
	for i := range ts {
		r := b[hdrLen+opRecSize*nOps+tensRecSize*uint64(i):]
		t := &ts[i]
		t.kind = r[0]
		nd := int(r[1])
		if nd < 1 || nd > 4 {
			return nil, fmt.Errorf("model: tensor %d has %d dims: %w", i, nd, errCorrupt)
		}
		n := uint64(1)
		for j := 0; j < nd; j++ {
			dim := uint64(le.Uint32(r[4+4*j:]))
			if dim == 0 || dim > maxTensorElems {
				return nil, fmt.Errorf("model: tensor %d dim %d out of range: %w", i, dim, errCorrupt)
			}
			n *= dim
			if n > maxTensorElems {
				return nil, fmt.Errorf("model: tensor %d has too many elements: %w", i, errCorrupt)
			}
			t.dims = append(t.dims, int(dim))
		}
		off, size := le.Uint64(r[20:]), le.Uint64(r[28:])
		var want uint64
		switch t.kind {
		case tensorF32:
			want = 4 * n
		case tensorQ8PC:
			want = 4*uint64(t.dims[0]) + n
			d.int8 = true
		default:
			return nil, fmt.Errorf("model: tensor %d has unknown type %d: %w", i, t.kind, errCorrupt)
		}
		if size != want || off%dataAlign != 0 || off > dataLen || size > dataLen-off {
			return nil, fmt.Errorf("model: tensor %d (%d bytes at %d) out of bounds: %w", i, size, off, errCorrupt)
		}
		raw := data[off : off+size]
		t.vals = make([]float32, n)
		switch t.kind {
		case tensorF32:
			for j := range t.vals {
				t.vals[j] = math.Float32frombits(le.Uint32(raw[4*j:]))
			}
		case tensorQ8PC:
			oc := t.dims[0]
			per := int(n) / oc
			q := raw[4*oc:]
			for c := 0; c < oc; c++ {
				s := math.Float32frombits(le.Uint32(raw[4*c:]))
				for j := 0; j < per; j++ {
					t.vals[c*per+j] = float32(int8(q[c*per+j])) * s
				}
			}
		}
		for _, v := range t.vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("model: tensor %d holds NaN or Inf: %w", i, errCorrupt)
			}
		}
	}
	get := func(idx uint32, what string, op int) (*tens, error) {
		if idx == noTensor {
			return nil, nil
		}
		if uint64(idx) >= nTens {
			return nil, fmt.Errorf("model: op %d %s tensor %d out of range: %w", op, what, idx, errCorrupt)
		}
		t := &ts[idx]
		if t.used {
			return nil, fmt.Errorf("model: op %d %s tensor %d used twice: %w", op, what, idx, errCorrupt)
		}
		t.used = true
		return t, nil
	}
	g.Ops = make([]Op, nOps)
	for i := range g.Ops {
		r := b[hdrLen+opRecSize*uint64(i):]
		op := &g.Ops[i]
		op.Kind, op.Act.Kind = OpKind(r[0]), ActKind(r[1])
		if r[0] == 0 || r[0] > maxOpKind || r[1] > maxActKind || r[2] > 1 {
			return nil, fmt.Errorf("model: op %d: unknown kind %d/activation %d/flags %d: %w", i, r[0], r[1], r[2], errCorrupt)
		}
		op.CountIncludePad = r[2] == 1
		op.In = [2]int{int(int32(le.Uint32(r[4:]))), int(int32(le.Uint32(r[8:])))}
		var p [9]int
		for j := range p {
			v := le.Uint32(r[12+4*j:])
			if v > 1<<16 {
				return nil, fmt.Errorf("model: op %d: parameter %d out of range: %w", i, v, errCorrupt)
			}
			p[j] = int(v)
		}
		op.Group, op.StrideH, op.StrideW, op.KH, op.KW = p[0], p[1], p[2], p[3], p[4]
		op.Pads = [4]int{p[5], p[6], p[7], p[8]}
		op.Act.A = math.Float32frombits(le.Uint32(r[48:]))
		op.Act.B = math.Float32frombits(le.Uint32(r[52:]))
		w, err := get(le.Uint32(r[56:]), "weight", i)
		if err != nil {
			return nil, err
		}
		if w != nil {
			op.Weight, op.WeightShape = w.vals, w.dims
			if w.kind == tensorQ8PC && op.Kind != OpConv && op.Kind != OpDense {
				return nil, fmt.Errorf("model: op %d (%v): int8 weights: %w", i, op.Kind, errCorrupt)
			}
		}
		for j, dst := range []*[]float32{&op.Bias, &op.Act.Slope} {
			t, err := get(le.Uint32(r[60+4*j:]), "bias/slope", i)
			if err != nil {
				return nil, err
			}
			if t != nil {
				if t.kind != tensorF32 || len(t.dims) != 1 {
					return nil, fmt.Errorf("model: op %d: bias/slope must be 1-D float32: %w", i, errCorrupt)
				}
				*dst = t.vals
			}
		}
	}
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	out := shapes[len(shapes)-1]
	if out.Size() != d.embedDim {
		return nil, fmt.Errorf("model: header says embedding size %d, graph outputs %v", d.embedDim, out)
	}
	if d.dec, err = checkKind(d.kind, d.dec, out, g.InputH, g.InputW, d.mirror); err != nil {
		return nil, err
	}
	return d, nil
}
