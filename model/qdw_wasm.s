//go:build goexperiment.simd && wasm

#include "textflag.h"
#include "asm_wasm.h"

// The integer depthwise kernel's two loops (see qdw.go), in assembly for the instructions
// Go 1.27.3's simd/archsimd does not expose: i16x8.narrow_i32x4_s and i32x4.dot_i16x8_s.
// R registers are i64 locals; every address is wrapped to i32 at its load or store. Every
// loop runs at least once: the caller ensures rows, n8, oh, nv >= 1.

// func qnarrowRows(src, dst unsafe.Pointer, rows, n8, sstride, dstride int, inv float32)
// quantises rows rows of 8*n8 float32s (sstride bytes apart) to int16 (dstride bytes apart):
// round-half-even(x * inv), saturated.
TEXT ·qnarrowRows(SB), NOSPLIT, $0-52
	I64Load src+0(FP)
	Set R0
	I64Load dst+8(FP)
	Set R1
	I64Load rows+16(FP)
	Set R2
	I64Load n8+24(FP)
	Set R3
	I64Load sstride+32(FP)
	Set R4
	I64Load dstride+40(FP)
	Set R5
	F32Load inv+48(FP)
	F32x4Splat
	Set V0

	Loop // over the rows
		Get R0
		Set R6
		Get R1
		Set R7
		Get R3
		Set R8
		Loop // over the row's 8-sample steps
			Get R7; I32WrapI64
			Get R6; I32WrapI64; V128Load $0; Get V0; F32x4Mul; F32x4Nearest; I32x4TruncSatF32x4S
			Get R6; I32WrapI64; V128Load $16; Get V0; F32x4Mul; F32x4Nearest; I32x4TruncSatF32x4S
			I16x8NarrowI32x4S
			V128Store $0
			STEP(R6, 32)
			STEP(R7, 16)
			AGAIN(R8)
		End
		STEPBY(R0, R4)
		STEPBY(R1, R5)
		AGAIN(R2)
	End
	RET

// TAPS(wa, wb): one kernel row's three taps for 4 outputs at stride 2, from the int16 samples
// at R8 (the row at the outputs' first sample), added to the int32x4 on the stack: the pair
// wa = (w0, w1) against samples 0..7, wb = (w2, 0) against samples 2..9.
#define TAPS(wa, wb) \
	Get R8; I32WrapI64; V128Load $0; Get wa; I32x4DotI16x8S; I32x4Add; \
	Get R8; I32WrapI64; V128Load $4; Get wb; I32x4DotI16x8S; I32x4Add

// func qdw2(x, w, acc unsafe.Pointer, rowBytes, oh, nv int) computes one channel's int32 sums
// into acc (oh rows of 4*nv): x is the channel's zero-padded int16 plane (rows rowBytes
// apart), w its 6 weight pairs (kernel rows 0..2: (w0, w1), (w2, 0)).
TEXT ·qdw2(SB), NOSPLIT, $0-48
	I64Load x+0(FP)
	Set R0
	I64Load w+8(FP)
	Set R1
	I64Load acc+16(FP)
	Set R2
	I64Load rowBytes+24(FP)
	Set R3
	I64Load oh+32(FP)
	Set R4
	I64Load nv+40(FP)
	Set R5
	Get R1; I32WrapI64; I32Load $0; I32x4Splat; Set V0
	Get R1; I32WrapI64; I32Load $4; I32x4Splat; Set V1
	Get R1; I32WrapI64; I32Load $8; I32x4Splat; Set V2
	Get R1; I32WrapI64; I32Load $12; I32x4Splat; Set V3
	Get R1; I32WrapI64; I32Load $16; I32x4Splat; Set V4
	Get R1; I32WrapI64; I32Load $20; I32x4Splat; Set V5

	Loop // over the output rows: R0 at input row 2*oy
		Get R0
		Set R6
		Get R5
		Set R7
		Loop // over the row's 4-output steps: R6 at sample 8*step of row 2*oy
			Get R2; I32WrapI64
			I32Const $0
			I32x4Splat
			Get R6; Set R8
			TAPS(V0, V1)
			STEPBY(R8, R3)
			TAPS(V2, V3)
			STEPBY(R8, R3)
			TAPS(V4, V5)
			V128Store $0
			STEP(R2, 16)
			STEP(R6, 16)
			AGAIN(R7)
		End
		Get R0; Get R3; I64Const $1; I64Shl; I64Add; Set R0
		AGAIN(R4)
	End
	RET
