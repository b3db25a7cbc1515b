//go:build goexperiment.simd && wasm

#include "textflag.h"
#include "asm_wasm.h"

// qdotPanel computes one panel (4 rows) of the integer GEMM over tiles x 8 columns: for each
// tile, 8 int32x4 accumulators (4 rows x 2 vectors) over kp pairs of K steps, each step one
// i32x4.dot_i16x8_s per accumulator (see qgemm.go). a: the panel's packed weights (16 bytes
// per pair: 4 rows x 2 int16); b: the packed input block (ldb bytes per pair, 4 bytes per
// column); c: int32 results, rows ldc bytes apart. The weights are splat from memory with
// v128.load32_splat (one vpbroadcastd; i32.load + i32x4.splat is three instructions, and the
// kernel ran 19-35% slower on it in node 20), its memory immediate written by MEMARG0
// (asm_wasm.h). The assembler ignores the offset of a v128.store (addresses are computed).
// R registers are i64 locals; every address is wrapped to i32 at its load or store. Both
// loops run at least once: the caller ensures kp, tiles >= 1.

// ROW(off, acc0, acc1): the weight pair of one row (at a + off) splat, times the step's two
// input vectors, into that row's two accumulators.
#define ROW(off, acc0, acc1) \
	SPLAT(R7, off); Set V10; \
	Get acc0; Get V10; Get V8; I32x4DotI16x8S; I32x4Add; Set acc0; \
	Get acc1; Get V10; Get V9; I32x4DotI16x8S; I32x4Add; Set acc1

// STORE(acc0, acc1): one row's 8 int32 results at R10, then R10 moves to the next row.
#define STORE(acc0, acc1) \
	Get R10; I32WrapI64; Get acc0; V128Store $0; \
	Get R10; I64Const $16; I64Add; I32WrapI64; Get acc1; V128Store $0; \
	STEPBY(R10, R6)

// The epilogue loops of qEpilogue over n4 >= 1 vectors: dst = float32(acc)*rs + b, then the
// clamp: on the bits as int32 (lo >= 0), none, or f32x4.max/min. In Go they cost twice as
// much (node 20, 1.5 M outputs: 850-1090 us against 380-580).

// EPI_ARGS loads acc, dst, n4 into R0..R2 and rs, b into V0, V1.
#define EPI_ARGS \
	I64Load acc+0(FP); Set R0; \
	I64Load dst+8(FP); Set R1; \
	I64Load n4+16(FP); Set R2; \
	F32Load rs+24(FP); F32x4Splat; Set V0; \
	F32Load b+28(FP); F32x4Splat; Set V1

// EPI_VALUE pushes the dst address and float32(acc)*rs + b.
#define EPI_VALUE \
	Get R1; I32WrapI64; \
	Get R0; I32WrapI64; V128Load $0; F32x4ConvertI32x4S; Get V0; F32x4Mul; Get V1; F32x4Add

// EPI_NEXT stores, steps the pointers and loops while vectors remain.
#define EPI_NEXT \
	V128Store $0; \
	STEP(R0, 16); \
	STEP(R1, 16); \
	AGAIN(R2)

// func qdotPanel(a, b, c unsafe.Pointer, kp, tiles, ldb, ldc int)
TEXT ·qdotPanel(SB), NOSPLIT, $0-56
	I64Load a+0(FP)
	Set R0
	I64Load b+8(FP)
	Set R1
	I64Load c+16(FP)
	Set R2
	I64Load kp+24(FP)
	Set R3
	I64Load tiles+32(FP)
	Set R4
	I64Load ldb+40(FP)
	Set R5
	I64Load ldc+48(FP)
	Set R6

	Loop // over the tiles: R1 the tile's input columns, R2 its results
		I32Const $0
		I32x4Splat
		Tee V0
		Tee V1
		Tee V2
		Tee V3
		Tee V4
		Tee V5
		Tee V6
		Set V7
		Get R0
		Set R7 // the weights
		Get R1
		Set R8 // the input pair row
		Get R3
		Set R9 // pairs left
		Loop
			Get R8; I32WrapI64; V128Load $0; Set V8
			Get R8; I32WrapI64; V128Load $16; Set V9
			ROW(0, V0, V1)
			ROW(4, V2, V3)
			ROW(8, V4, V5)
			ROW(12, V6, V7)
			STEP(R7, 16)
			STEPBY(R8, R5)
			AGAIN(R9)
		End

		Get R2
		Set R10
		STORE(V0, V1)
		STORE(V2, V3)
		STORE(V4, V5)
		STORE(V6, V7)

		STEP(R1, 32)
		STEP(R2, 32)
		AGAIN(R4)
	End
	RET

// func qepiClamp(acc, dst unsafe.Pointer, n4 int, rs, b float32, lo, hi int32)
TEXT ·qepiClamp(SB), NOSPLIT, $0-40
	EPI_ARGS
	I32Load lo+32(FP); I32x4Splat; Set V2
	I32Load hi+36(FP); I32x4Splat; Set V3
	Loop
		EPI_VALUE
		Get V2; I32x4MaxS; Get V3; I32x4MinS
		EPI_NEXT
	End
	RET

// func qepiNone(acc, dst unsafe.Pointer, n4 int, rs, b float32)
TEXT ·qepiNone(SB), NOSPLIT, $0-32
	EPI_ARGS
	Loop
		EPI_VALUE
		EPI_NEXT
	End
	RET

// func qepiFloat(acc, dst unsafe.Pointer, n4 int, rs, b, lo, hi float32)
TEXT ·qepiFloat(SB), NOSPLIT, $0-40
	EPI_ARGS
	F32Load lo+32(FP); F32x4Splat; Set V2
	F32Load hi+36(FP); F32x4Splat; Set V3
	Loop
		EPI_VALUE
		Get V2; F32x4Max; Get V3; F32x4Min
		EPI_NEXT
	End
	RET

// QPAIR(off): quantises the 4 floats at R10 + off and at R11 + off and pushes them as int16
// pairs (the first row's value low, the second's high).
#define QPAIR(off) \
	Get R10; I32WrapI64; V128Load $off; Get V0; F32x4Mul; F32x4Nearest; I32x4TruncSatF32x4S; Get V1; V128And; \
	Get R11; I32WrapI64; V128Load $off; Get V0; F32x4Mul; F32x4Nearest; I32x4TruncSatF32x4S; I32Const $16; I32x4Shl; \
	V128Or

// func qpackPairs(b, offs, dst unsafe.Pointer, pairs, n4, dstride int, inv float32) packs
// pairs pairs of input rows (row offsets in floats from b at offs, int32s, two per pair) over
// n4 vectors of 4 columns into dst (rows dstride bytes apart): pack's loop in assembly.
// pairs, n4 >= 1.
TEXT ·qpackPairs(SB), NOSPLIT, $0-52
	I64Load b+0(FP)
	Set R0
	I64Load offs+8(FP)
	Set R1
	I64Load dst+16(FP)
	Set R2
	I64Load pairs+24(FP)
	Set R3
	I64Load n4+32(FP)
	Set R4
	I64Load dstride+40(FP)
	Set R5
	F32Load inv+48(FP)
	F32x4Splat
	Set V0
	I32Const $0xffff
	I32x4Splat
	Set V1

	Loop // over the pairs
		// The pair's two rows: b + 4*offs[0], b + 4*offs[1].
		Get R1; I32WrapI64; I64Load32S $0; I64Const $2; I64Shl; Get R0; I64Add; Set R10
		Get R1; I32WrapI64; I64Load32S $4; I64Const $2; I64Shl; Get R0; I64Add; Set R11
		Get R2
		Set R12
		Get R4
		Set R13
		Loop // over the vectors
			Get R12; I32WrapI64
			QPAIR(0)
			V128Store $0
			STEP(R10, 16)
			STEP(R11, 16)
			STEP(R12, 16)
			AGAIN(R13)
		End
		STEP(R1, 8)
		STEPBY(R2, R5)
		AGAIN(R3)
	End
	RET

// func addMax(dst, a, b unsafe.Pointer, n4, relu int, out unsafe.Pointer) is addAct over n4
// vectors (relu != 0: max(a + b, 0) as f32x4.max, as addAct) that also keeps, per lane, the
// largest |dst| (on the bits with the sign cleared: those order like the values, NaN above
// +Inf), stored at out: the integer kernels' input bound without a pass of its own. n4 >= 1.
TEXT ·addMax(SB), NOSPLIT, $0-48
	I64Load dst+0(FP)
	Set R0
	I64Load a+8(FP)
	Set R1
	I64Load b+16(FP)
	Set R2
	I64Load n4+24(FP)
	Set R3
	I64Load relu+32(FP)
	Set R4
	I64Load out+40(FP)
	Set R5
	I32Const $0
	I32x4Splat
	Tee V0 // the largest |x| bits so far
	Set V3 // zero
	I32Const $0x7fffffff
	I32x4Splat
	Set V1
	Loop
		Get R1; I32WrapI64; V128Load $0
		Get R2; I32WrapI64; V128Load $0
		F32x4Add
		Set V2
		Get R4
		I64Eqz
		I32Eqz
		If
			Get V2; Get V3; F32x4Max; Set V2
		End
		Get R0; I32WrapI64; Get V2; V128Store $0
		Get V0; Get V2; Get V1; V128And; I32x4MaxS; Set V0
		STEP(R0, 16)
		STEP(R1, 16)
		STEP(R2, 16)
		AGAIN(R3)
	End
	Get R5; I32WrapI64; Get V0; V128Store $0
	RET
