//go:build js && wasm && !goexperiment.simd

package main

const buildName = "scalar"
