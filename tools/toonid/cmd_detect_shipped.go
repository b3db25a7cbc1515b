package main

// shippedDetector is the detector `toonid detect` uses without -model (none shipped yet:
// make train-detect writes model/train/runs/detect/detect.tmdl).
var shippedDetector []byte
