// Macros shared by the wasm assembly files.

// MEMARG0 is the memory immediate (alignment hint 2^0, offset 0) of the v128.load32_splat
// before it. Go 1.27.3's assembler writes that instruction without one; MEMARG0 writes its two
// 0x00 bytes by way of two unreachable opcodes, which is all they are. Were the assembler fixed,
// they would be real instructions and the kernels would trap: their tests would fail at once
// (the toolchain is pinned).
#define MEMARG0 Unreachable; Unreachable

// SPLAT(ptr, off) pushes the float32 or int32 at ptr + off in every lane.
#define SPLAT(ptr, off) Get ptr; I32WrapI64; I32Const $off; I32Add; V128Load32Splat; MEMARG0

// AGAIN(reg) decrements the count in reg and branches back to the enclosing loop's start while
// it is not zero (the loop then runs count >= 1 times).
#define AGAIN(reg) Get reg; I64Const $1; I64Sub; Tee reg; I64Eqz; I32Eqz; BrIf $0

// STEP(reg, n) adds the constant n to reg; STEPBY(reg, by) adds register by.
#define STEP(reg, n) Get reg; I64Const $n; I64Add; Set reg
#define STEPBY(reg, by) Get reg; Get by; I64Add; Set reg
