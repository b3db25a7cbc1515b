package shipped

import _ "embed"

// Detector is the shipped cartoon face detector (a model file of kind detector, FORMAT.md),
// made by `make train-detect` (model/train/detect.py, then `toonid detect quantize`); see
// detect/README.md.
//
//go:embed detect.tmdl
var Detector []byte
