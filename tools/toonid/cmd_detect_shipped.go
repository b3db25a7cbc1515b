package main

import "github.com/toonid/toonid/model/shipped"

// shippedDetector is the detector `toonid detect` and `identify -all` use without -model / -detector.
var shippedDetector = shipped.Detector
