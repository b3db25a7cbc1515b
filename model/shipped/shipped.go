// Package shipped embeds toonid's shipped model file (toonid.tmdl, made from toonid.onnx by
// `toonid quantize`; see ../README.md). Load it with model.Load(shipped.Model).
package shipped

import _ "embed"

// Model is the shipped model file. It is read-only data: do not modify it.
//
//go:embed toonid.tmdl
var Model []byte
