package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Shard file layout constants; see FORMAT.md.
const (
	shardMagic      = "TPSH"
	shardVersion    = 1
	shardHeaderSize = 32
	quantInt8Scale  = 1 // frozen quantization id: int8 with one f32 scale per vector
	quantInt8Resid  = 2 // frozen quantization id: f32 centre + int8 residual with one f32 scale per vector

	// MaxDim bounds embedding sizes accepted from files.
	MaxDim = 4096
	// MaxShardBytes bounds a shard file; larger ones are refused before reading.
	MaxShardBytes = 256 << 20
)

// A Shard holds quantised rows: row i is Centre + Scales[i] * Data[i*Dim:(i+1)*Dim] (Centre nil: 0)
// and belongs to label Labels[i].
type Shard struct {
	Dim    int
	Centre []float32 // nil for quantization 1
	Labels []uint32
	Scales []float32
	Data   []int8
}

// centreDot is Centre·q, the part of every row's score that the int8 residual does not carry.
func (s *Shard) centreDot(q []float32) float32 {
	if s.Centre == nil {
		return 0
	}
	return dot(s.Centre, q)
}

// Len is the number of rows.
func (s *Shard) Len() int { return len(s.Labels) }

// Row returns row i dequantised into dst (grown if needed).
func (s *Shard) Row(dst []float32, i int) []float32 {
	dst = dst[:0]
	sc := s.Scales[i]
	for j, q := range s.Data[i*s.Dim : (i+1)*s.Dim] {
		v := sc * float32(q)
		if s.Centre != nil {
			v += s.Centre[j]
		}
		dst = append(dst, v)
	}
	return dst
}

// Quantize appends vector v to the shard with label l, as int8 with a per-vector scale (of v minus
// Centre when the shard has one).
func (s *Shard) Quantize(l uint32, v []float32) {
	if s.Centre != nil {
		r := make([]float32, len(v))
		for i, x := range v {
			r[i] = x - s.Centre[i]
		}
		v = r
	}
	var m float32
	for _, x := range v {
		if a := float32(math.Abs(float64(x))); a > m {
			m = a
		}
	}
	scale := m / 127
	s.Labels = append(s.Labels, l)
	s.Scales = append(s.Scales, scale)
	for _, x := range v {
		var q float32
		if scale > 0 {
			q = float32(math.Round(float64(x / scale)))
		}
		if q > 127 {
			q = 127
		} else if q < -127 {
			q = -127
		}
		s.Data = append(s.Data, int8(q))
	}
}

// MarshalBinary encodes the shard in the version 1 layout.
func (s *Shard) MarshalBinary() ([]byte, error) {
	n := len(s.Labels)
	if s.Dim <= 0 || s.Dim > MaxDim {
		return nil, fmt.Errorf("pack: shard dim %d out of range 1..%d", s.Dim, MaxDim)
	}
	if len(s.Scales) != n || len(s.Data) != n*s.Dim {
		return nil, fmt.Errorf("pack: shard has %d labels, %d scales, %d values for dim %d", n, len(s.Scales), len(s.Data), s.Dim)
	}
	if s.Centre != nil && len(s.Centre) != s.Dim {
		return nil, fmt.Errorf("pack: shard centre has %d values for dim %d", len(s.Centre), s.Dim)
	}
	b := make([]byte, shardHeaderSize+len(s.Centre)*4+n*(8+s.Dim))
	copy(b, shardMagic)
	le := binary.LittleEndian
	le.PutUint32(b[4:], shardVersion)
	le.PutUint32(b[8:], uint32(s.Dim))
	le.PutUint32(b[12:], uint32(n))
	le.PutUint32(b[16:], quantInt8Scale)
	off := shardHeaderSize
	if s.Centre != nil {
		le.PutUint32(b[16:], quantInt8Resid)
		for _, c := range s.Centre {
			le.PutUint32(b[off:], math.Float32bits(c))
			off += 4
		}
	}
	for _, l := range s.Labels {
		le.PutUint32(b[off:], l)
		off += 4
	}
	for _, sc := range s.Scales {
		le.PutUint32(b[off:], math.Float32bits(sc))
		off += 4
	}
	for i, q := range s.Data {
		b[off+i] = byte(q)
	}
	return b, nil
}

// DecodeShard parses a shard file. wantDim and wantCount, when > 0, must match the header;
// every label index must be below nLabels. It checks the header before allocating.
func DecodeShard(b []byte, wantDim, wantCount, nLabels int) (*Shard, error) {
	if len(b) < shardHeaderSize {
		return nil, fmt.Errorf("pack: shard truncated: %d bytes, header needs %d", len(b), shardHeaderSize)
	}
	if string(b[:4]) != shardMagic {
		return nil, fmt.Errorf("pack: shard: bad magic %q, want %q", b[:4], shardMagic)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[4:]); v != shardVersion {
		return nil, fmt.Errorf("pack: shard: unsupported version %d (this reader knows %d)", v, shardVersion)
	}
	dim := int(le.Uint32(b[8:]))
	count := int(le.Uint32(b[12:]))
	if dim < 1 || dim > MaxDim {
		return nil, fmt.Errorf("pack: shard: dim %d out of range 1..%d", dim, MaxDim)
	}
	if wantDim > 0 && dim != wantDim {
		return nil, fmt.Errorf("pack: shard: dim %d, manifest says %d", dim, wantDim)
	}
	if wantCount > 0 && count != wantCount {
		return nil, fmt.Errorf("pack: shard: count %d, manifest says %d", count, wantCount)
	}
	quant := le.Uint32(b[16:])
	if quant != quantInt8Scale && quant != quantInt8Resid {
		return nil, fmt.Errorf("pack: shard: unknown quantization id %d", quant)
	}
	for _, r := range b[20:shardHeaderSize] {
		if r != 0 {
			return nil, fmt.Errorf("pack: shard: reserved header bytes 20..31 must be zero")
		}
	}
	// count and dim are both < 2^32 and dim <= 4096, so this cannot overflow int64.
	centreBytes := 0
	if quant == quantInt8Resid {
		centreBytes = 4 * dim
	}
	want := int64(shardHeaderSize+centreBytes) + int64(count)*int64(8+dim)
	if int64(len(b)) != want {
		return nil, fmt.Errorf("pack: shard: size %d, header (dim %d, count %d, quantization %d) needs %d", len(b), dim, count, quant, want)
	}
	s := &Shard{Dim: dim, Labels: make([]uint32, count), Scales: make([]float32, count), Data: make([]int8, count*dim)}
	off := shardHeaderSize
	if quant == quantInt8Resid {
		s.Centre = make([]float32, dim)
		for i := range s.Centre {
			c := math.Float32frombits(le.Uint32(b[off:]))
			if math.IsNaN(float64(c)) || math.IsInf(float64(c), 0) {
				return nil, fmt.Errorf("pack: shard: centre component %d is %v", i, c)
			}
			s.Centre[i] = c
			off += 4
		}
	}
	for i := range s.Labels {
		l := le.Uint32(b[off:])
		if int64(l) >= int64(nLabels) {
			return nil, fmt.Errorf("pack: shard: row %d: label index %d out of range (%d labels)", i, l, nLabels)
		}
		s.Labels[i] = l
		off += 4
	}
	for i := range s.Scales {
		sc := math.Float32frombits(le.Uint32(b[off:]))
		if math.IsNaN(float64(sc)) || math.IsInf(float64(sc), 0) || sc < 0 {
			return nil, fmt.Errorf("pack: shard: row %d: bad scale %v", i, sc)
		}
		s.Scales[i] = sc
		off += 4
	}
	for i := range s.Data {
		s.Data[i] = int8(b[off+i])
	}
	return s, nil
}

var errNoRows = errors.New("pack: no rows")
