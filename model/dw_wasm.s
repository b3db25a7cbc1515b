//go:build goexperiment.simd && wasm

#include "textflag.h"
#include "asm_wasm.h"

// The stride-1 3x3 depthwise kernel with lo >= 0 (dwInt2 in kernels_wasm.go) over one
// channel's pairs of output rows, in assembly: the same float operations in the same order
// (the results are dwInt2's bit for bit), without the archsimd code's overhead in Go's wasm
// output (the epilogue loops ran twice as fast so). R registers are i64 locals; addresses are
// wrapped to i32 at each load and store.

// LD(row, off) pushes the four floats at row + off.
#define LD(row, off) Get row; I32WrapI64; V128Load $off

// MAC(acc, x, w): acc += x * w.
#define MAC(acc, x, w) Get acc; Get x; Get w; F32x4Mul; F32x4Add; Set acc

// TAP2(row, off, wt, wu): the input vector at row + off feeds the top output (weight wt) and
// the bottom one (weight wu).
#define TAP2(row, off, wt, wu) LD(row, off); Set V14; MAC(V12, V14, wt); MAC(V13, V14, wu)

// CLAMPST(addr, acc): stores clamp(acc + bias) on the bits (lo, hi in V10, V11) at addr.
#define CLAMPST(addr, acc) Get addr; I32WrapI64; Get acc; Get V9; F32x4Add; Get V10; I32x4MaxS; Get V11; I32x4MinS; V128Store $0

// func dwPairs(p, out, wts unsafe.Pointer, pairs, ow, rs int) computes pairs pairs of output
// rows: p is the channel's plane at its first tap (rows rs bytes apart), out its output (rows
// ow floats apart, ow >= 4), wts w0..w8, bias, lo, hi. Each row runs as vectors of 4 from
// column 0, the last one moved back to end at the row's end (dw3x3). pairs >= 1.
TEXT ·dwPairs(SB), NOSPLIT, $0-48
	I64Load p+0(FP)
	Set R0
	I64Load out+8(FP)
	Set R1
	I64Load wts+16(FP)
	Set R2
	I64Load pairs+24(FP)
	Set R3
	I64Load ow+32(FP)
	Set R4
	I64Load rs+40(FP)
	Set R5
	SPLAT(R2, 0); Set V0
	SPLAT(R2, 4); Set V1
	SPLAT(R2, 8); Set V2
	SPLAT(R2, 12); Set V3
	SPLAT(R2, 16); Set V4
	SPLAT(R2, 20); Set V5
	SPLAT(R2, 24); Set V6
	SPLAT(R2, 28); Set V7
	SPLAT(R2, 32); Set V8
	SPLAT(R2, 36); Set V9
	SPLAT(R2, 40); Set V10
	SPLAT(R2, 44); Set V11
	Get R4; I64Const $2; I64Shl; Set R15 // output row bytes
	Get R15; I64Const $16; I64Sub; Set R6 // the last vector's byte offset

	Loop // over the pairs of output rows
		I64Const $0
		Set R9 // the vector's byte offset in its rows
		Loop // over the vectors
			Get R9; Get R6; I64GtU
			If
				Get R6; Set R9
			End
			Get R0; Get R9; I64Add; Tee R10
			Get R5; I64Add; Tee R11
			Get R5; I64Add; Tee R12
			Get R5; I64Add; Set R13
			// Input row 0 feeds the top output; rows 1 and 2 both; row 3 the bottom one.
			LD(R10, 0); Get V0; F32x4Mul; LD(R10, 4); Get V1; F32x4Mul; F32x4Add; LD(R10, 8); Get V2; F32x4Mul; F32x4Add; Set V12
			LD(R11, 0); Set V14; MAC(V12, V14, V3); Get V14; Get V0; F32x4Mul; Set V13
			TAP2(R11, 4, V4, V1)
			TAP2(R11, 8, V5, V2)
			TAP2(R12, 0, V6, V3)
			TAP2(R12, 4, V7, V4)
			TAP2(R12, 8, V8, V5)
			Get R1; Get R9; I64Add; Set R14
			CLAMPST(R14, V12)
			Get V13; LD(R13, 0); Get V6; F32x4Mul; F32x4Add; LD(R13, 4); Get V7; F32x4Mul; F32x4Add; LD(R13, 8); Get V8; F32x4Mul; F32x4Add; Set V13
			STEPBY(R14, R15)
			CLAMPST(R14, V13)
			Get R9; Get R6; I64LtU
			STEP(R9, 16)
			BrIf $0
		End
		Get R0; Get R5; I64Const $1; I64Shl; I64Add; Set R0
		Get R1; Get R15; I64Const $1; I64Shl; I64Add; Set R1
		AGAIN(R3)
	End
	RET
