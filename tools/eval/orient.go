package eval

import (
	"bufio"
	"encoding/binary"
	"image"
	"io"
)

// EXIF orientation: a camera or phone stores its JPEG pixels as the sensor read them and says in
// the EXIF block (APP1, tag 0x0112) how to turn them for display. Browsers apply it (an <img>
// by CSS image-orientation: from-image, createImageBitmap by its imageOrientation default,
// "from-image"), so the tools do too: a click or box given in the picture as seen, and the
// crops embedded, are the same picture the demo page shows. Values 2..8 are the seven flips and
// rotations; anything missing, unreadable or out of range is 1 (as stored).

// jpegOrientation reads the EXIF orientation from the JPEG whose first byte r is at. It walks
// the markers up to the first scan, reading only APP1 segments (each at most 64 KiB, the most a
// marker length can say) and skipping the rest, so a hostile file costs no more than that.
func jpegOrientation(r io.Reader) int {
	br := bufio.NewReaderSize(r, 4096)
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil || b != [2]byte{0xff, 0xd8} {
		return 1
	}
	for {
		c, err := br.ReadByte()
		if err != nil || c != 0xff {
			return 1
		}
		for c == 0xff {
			if c, err = br.ReadByte(); err != nil {
				return 1
			}
		}
		if c == 0 || c == 0x01 || 0xd0 <= c && c <= 0xd8 { // no length follows
			continue
		}
		if c == 0xda || c == 0xd9 { // the first scan, or the end: no EXIF block before it
			return 1
		}
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[:])) - 2
		if n < 0 {
			return 1
		}
		if c == 0xe1 {
			seg := make([]byte, n)
			if _, err := io.ReadFull(br, seg); err != nil {
				return 1
			}
			if o, ok := exifOrientation(seg); ok {
				return o
			}
			continue
		}
		if _, err := br.Discard(n); err != nil {
			return 1
		}
	}
}

// exifOrientation reads tag 0x0112 from IFD0 of an APP1 payload; ok is false for an APP1 that
// is not EXIF (XMP, say), so the walk goes on to the next one.
func exifOrientation(seg []byte) (int, bool) {
	const hdr = "Exif\x00\x00"
	if len(seg) < len(hdr)+8 || string(seg[:len(hdr)]) != hdr {
		return 1, false
	}
	t := seg[len(hdr):]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1, true
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1, true
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1, true
	}
	count := int64(bo.Uint16(t[off:]))
	for i := int64(0); i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 1, true
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || n != 1 { // SHORT, one value, stored in the entry itself
			return 1, true
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v, true
		}
		return 1, true
	}
	return 1, true
}

// orientSwapsSides says whether orientation o turns the picture a quarter (5..8): the image as
// seen is h wide and w high.
func orientSwapsSides(o int) bool { return o >= 5 && o <= 8 }

// orient returns img (bounds at 0,0) turned as EXIF orientation o says. The flips and the half
// turn (2..4) are done in place; a quarter turn (5..8) needs a new image of the swapped size,
// which check counts in the decode's bytes.
func orient(img *image.RGBA, o int) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	px := func(m *image.RGBA, x, y int) []byte { i := m.PixOffset(x, y); return m.Pix[i : i+4 : i+4] }
	swap := func(a, b []byte) {
		var t [4]byte
		copy(t[:], a)
		copy(a, b)
		copy(b, t[:])
	}
	switch o {
	case 2: // mirror left-right
		for y := 0; y < h; y++ {
			for x := 0; x < w/2; x++ {
				swap(px(img, x, y), px(img, w-1-x, y))
			}
		}
		return img
	case 3: // half turn: pixel i swaps with pixel n-1-i
		n := w * h
		for i := 0; i < n/2; i++ {
			j := n - 1 - i
			swap(px(img, i%w, i/w), px(img, j%w, j/w))
		}
		return img
	case 4: // mirror top-bottom
		for y := 0; y < h/2; y++ {
			a, b := img.Pix[img.PixOffset(0, y):][:4*w], img.Pix[img.PixOffset(0, h-1-y):][:4*w]
			for x := 0; x < 4*w; x += 4 {
				swap(a[x:x+4], b[x:x+4])
			}
		}
		return img
	}
	if !orientSwapsSides(o) {
		return img
	}
	dst := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := 0; y < w; y++ {
		for x := 0; x < h; x++ {
			var sx, sy int
			switch o {
			case 5: // transpose
				sx, sy = y, x
			case 6: // a quarter turn clockwise
				sx, sy = y, h-1-x
			case 7: // transverse
				sx, sy = w-1-y, h-1-x
			case 8: // a quarter turn anticlockwise
				sx, sy = w-1-y, x
			}
			copy(px(dst, x, y), px(img, sx, sy))
		}
	}
	return dst
}
