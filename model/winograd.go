package model

import "math"

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions with one pixel of padding on every side
// (most of the shipped network's multiply-adds): each 2x2 output tile comes from a 4x4
// input tile through 16 multiplies per (in, out) channel pair instead of 36, so the work
// becomes 16 GEMMs of (out x in) by (in x tiles), 2.25x fewer multiply-adds, plus cheap
// input and output transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2015). In float32 the results differ from direct convolution by rounding only.
//
// Layout. The padded input P (rows H+2, one more for an odd H; likewise columns) is split into even and odd columns (E[y][t] =
// P[y][2t], O[y][t] = P[y][2t+1]), so that the input transform of four neighbouring tiles
// is a handful of vector operations on contiguous data. Tiles are numbered s*rowT + t for
// tile row s < H/2 and column t < rowT. rowT is W/2 when the tile count is then a multiple
// of 4 (a vector); the transforms then work in whole vectors that run into the next tile
// row, which is written after (V rows carry 4 tiles of slack for the last one). Otherwise
// rowT is W/2 rounded up to 4: the extra tiles are computed and dropped (6x6 maps: 12 tiles
// for 9). (Until 2026-12-01 the tile count was also made a multiple of 12, gemm4's tile
// width then; GEMM column tails now run as whole tiles too, see gemm4Tail.)

// winoLayout is a convolution's Winograd plan: transformed, packed weights and sizes.
type winoLayout struct {
	u       [16][]float32 // U[xi] = (G g G^T)[xi] for every (out, in) pair, packed by packA
	th, tw  int           // tile rows, valid tile columns
	nv      int           // tile columns the transforms compute: tw rounded up to 4
	rowT, t int           // tile numbers per tile row; tiles in all (the GEMM width)
	vs      int           // row stride of a V matrix: t plus slack for whole vectors
	pw2     int           // width of an E or O row
	ph      int           // rows of an E or O plane: the padded input rounded up to whole tiles
	eoLen   int           // E and O planes of all input channels
	oddLen  int           // an odd-sided output channel as whole tiles (2th x 2tw), else 0
	offs    []int32       // row offsets of one V matrix (in x tiles)
}

// winoEligible reports whether op can run as Winograd F(2x2, 3x3).
func winoEligible(op *Op, in, out Shape) bool {
	return op.Group == 1 && op.KH == 3 && op.KW == 3 && op.StrideH == 1 && op.StrideW == 1 &&
		op.Pads == [4]int{1, 1, 1, 1} && out[1] >= 2 && out[2] >= 2
}

func newWinoLayout(op *Op, in, out Shape) *winoLayout {
	ic, oc := in[0], out[0]
	// Odd sides compute one more tile row or column, over an extra zero row or column of
	// padding, into a scratch plane of whole tiles (see winoConv).
	l := &winoLayout{th: (out[1] + 1) / 2, tw: (out[2] + 1) / 2}
	l.nv = (l.tw + 3) / 4 * 4
	l.rowT = l.tw
	if l.th*l.tw%4 != 0 {
		for l.rowT = l.nv; l.th*l.rowT%4 != 0; l.rowT += 4 {
		}
	}
	l.t = l.th * l.rowT
	l.vs = l.t + 4
	l.pw2 = l.nv + 4
	l.ph = 2*l.th + 2
	l.eoLen = ic * 2 * l.ph * l.pw2
	if out[1]%2 != 0 || out[2]%2 != 0 {
		l.oddLen = 4 * l.th * l.tw
	}
	l.offs = rowOffsets(ic, l.vs)
	var u [16][]float32
	for xi := range u {
		u[xi] = make([]float32, oc*ic)
	}
	for o := 0; o < oc; o++ {
		for i := 0; i < ic; i++ {
			g := op.Weight[(o*ic+i)*9 : (o*ic+i+1)*9]
			// Gg (4x3), then (Gg)G^T (4x4); G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1].
			var gg [4][3]float32
			for c := 0; c < 3; c++ {
				g0, g1, g2 := g[c], g[3+c], g[6+c]
				gg[0][c], gg[1][c], gg[2][c], gg[3][c] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
			}
			for r := 0; r < 4; r++ {
				g0, g1, g2 := gg[r][0], gg[r][1], gg[r][2]
				row := [4]float32{g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2}
				for c := 0; c < 4; c++ {
					u[r*4+c][o*ic+i] = row[c]
				}
			}
		}
	}
	for xi := range u {
		l.u[xi] = packA(u[xi], oc, ic)
	}
	return l
}

// scratchLen is the conv scratch a Winograd convolution needs: E/O planes, V and M.
func (l *winoLayout) scratchLen(ic, oc int) int {
	return l.eoLen + 16*ic*l.vs + 16*oc*l.t + 4 + l.oddLen
}

// winoConv runs op (see winoEligible) on src (CHW) into dst, adding the bias and applying a
// ReLU when relu is set.
func winoConv(l *winoLayout, op *Op, src, dst []float32, ins, outs Shape, scratch []float32, relu bool) {
	ic, h, w := ins[0], ins[1], ins[2]
	oc, oh, ow := outs[0], outs[1], outs[2]
	t, vs := l.t, l.vs
	inf := float32(math.Inf(1))
	eo := scratch[:l.eoLen]
	v := scratch[l.eoLen : l.eoLen+16*ic*vs]
	// m: 4 floats of slack for the last whole vector winoOut reads.
	m := scratch[l.eoLen+16*ic*vs : l.eoLen+16*ic*vs+16*oc*t+4]
	pw2, ph := l.pw2, l.ph
	// Even/odd split of the padded input: P[y][X] = in[y-1][X-1].
	clear(eo)
	for c := 0; c < ic; c++ {
		// X = x+1: even x lands in O[x/2], odd x in E[(x+1)/2]; rows y+1. One dealRows
		// per channel (per-row calls cost about as much as the dealing).
		e := eo[((c*2)*ph+1)*pw2 : (c*2+1)*ph*pw2]
		o := eo[((c*2+1)*ph+1)*pw2 : (c*2+2)*ph*pw2]
		dealRows(o, e[1:], pw2, src[c*h*w:(c+1)*h*w], w, h, w)
	}
	// Input transform, four tiles per step.
	for c := 0; c < ic; c++ {
		ep := eo[(c*2)*ph*pw2 : (c*2+1)*ph*pw2]
		op := eo[(c*2+1)*ph*pw2 : (c*2+2)*ph*pw2]
		for s := 0; s < l.th; s++ {
			y := 2 * s
			winoIn(v[c*vs+s*l.rowT:], ic*vs, ep[y*pw2:], op[y*pw2:], pw2, l.nv)
		}
	}
	for xi := 0; xi < 16; xi++ {
		gemm(l.u[xi], oc, t, ic, v[xi*ic*vs:(xi+1)*ic*vs], l.offs, m[xi*oc*t:(xi+1)*oc*t], nil, -inf, inf)
	}
	// Odd sides: each channel's whole tiles go to a scratch plane (2tw wide), whose real
	// rows and columns are then copied out.
	odd := scratch[l.eoLen+16*ic*vs+16*oc*t+4:][:l.oddLen]
	for o := 0; o < oc; o++ {
		b := at(op.Bias, o)
		out, ow2 := dst[o*oh*ow:(o+1)*oh*ow], ow
		if l.oddLen > 0 {
			out, ow2 = odd, 2*l.tw
		}
		for s := 0; s < l.th; s++ {
			winoOut(out[2*s*ow2:(2*s+2)*ow2], ow2, m[o*t+s*l.rowT:], oc*t, l.tw, b, relu)
		}
		if l.oddLen > 0 {
			for y := 0; y < oh; y++ {
				copy(dst[(o*oh+y)*ow:(o*oh+y+1)*ow], odd[y*ow2:])
			}
		}
	}
}

// winoInGeneric writes the transformed 4x4 input tiles of one tile row: for tile t < nt,
// V[xi] = (B^T d B)[xi] goes to v[xi*stride+t]. e and o hold the even and odd columns of
// the tile row's four padded input rows, rows pw2 apart (each at least nt+4 long).
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func winoInGeneric(v []float32, stride int, e, o []float32, pw2, nt int) {
	for t := 0; t < nt; t++ {
		var q [4][4]float32 // q[r][j]: row r of d times B
		for r := 0; r < 4; r++ {
			e0, e1, o0, o1 := e[r*pw2+t], e[r*pw2+t+1], o[r*pw2+t], o[r*pw2+t+1]
			q[r] = [4]float32{e0 - e1, o0 + e1, e1 - o0, o0 - o1}
		}
		for j := 0; j < 4; j++ {
			v[(0*4+j)*stride+t] = q[0][j] - q[2][j]
			v[(1*4+j)*stride+t] = q[1][j] + q[2][j]
			v[(2*4+j)*stride+t] = q[2][j] - q[1][j]
			v[(3*4+j)*stride+t] = q[1][j] - q[3][j]
		}
	}
}

// winoOutGeneric writes the 2x2 output tiles t < nt of one tile row, out holding the two
// output rows (ow apart): Y = A^T M A with M[xi] at m[xi*stride+t], plus bias, then ReLU
// when relu. A^T = [1 1 1 0; 0 1 -1 -1].
func winoOutGeneric(out []float32, ow int, m []float32, stride, nt int, bias float32, relu bool) {
	for t := 0; t < nt; t++ {
		var u [2][4]float32
		for j := 0; j < 4; j++ {
			m0, m1, m2, m3 := m[(0*4+j)*stride+t], m[(1*4+j)*stride+t], m[(2*4+j)*stride+t], m[(3*4+j)*stride+t]
			u[0][j] = m0 + m1 + m2
			u[1][j] = m1 - m2 - m3
		}
		for r := 0; r < 2; r++ {
			y0 := u[r][0] + u[r][1] + u[r][2] + bias
			y1 := u[r][1] - u[r][2] - u[r][3] + bias
			if relu {
				y0, y1 = max(y0, 0), max(y1, 0)
			}
			out[r*ow+2*t] = y0
			out[r*ow+2*t+1] = y1
		}
	}
}
