//go:build js && wasm && !goexperiment.simd

package main

const simdBuild = false
