package eval

import (
	"bufio"
	"encoding/binary"
	"image"
	"image/color"
	"io"
	"sync"
)

// DecodeBytes is the memory decoding the image whose header r starts at takes, from that
// header (cfg and format as image.DecodeConfig gave them): what the standard library's decoder
// allocates for its image, plus the one 4-byte-a-pixel RGBA copy every caller makes (LoadImage's
// flattening, the CLI's and quantize's copies). Where the header leaves something open it
// counts the larger case. r is read from where it is and left anywhere.
//
//   - PNG: the image type the colour type decodes to: 1 byte a pixel paletted, 4 for 8-bit
//     (grey too: a tRNS chunk turns it into NRGBA), 8 for 16-bit; twice that when interlaced
//     (each pass has its own image before the merge); two filtered rows.
//   - JPEG: the component planes, padded to whole MCUs (3 bytes a padded pixel for three
//     components, whatever the subsampling), the RGBA or CMYK conversion when the file needs
//     one, and for a progressive file its coefficients (a 256-byte block per 8x8 samples of
//     every component, kept for the whole image): 6 bytes a pixel more for 4:2:0, 12 for 4:4:4.
//   - GIF: 1 byte a pixel (the first frame, within the logical screen).
//   - anything else: 8 bytes a pixel.
//
// and decoderBuffers for what does not grow with the image.
func DecodeBytes(r io.Reader, cfg image.Config, format string) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	dec := int64(decoderBuffers)
	switch format {
	case "png":
		dec += px * pngBytesPerPixel(cfg.ColorModel)
		if pngInterlaced(r) {
			dec += px * pngBytesPerPixel(cfg.ColorModel)
		}
		dec += 2 * (pngBytesPerPixel(cfg.ColorModel)*int64(cfg.Width) + 1) // the current and previous filtered rows
	case "jpeg":
		dec += jpegBytes(r, cfg)
	case "gif":
		dec += px
	default:
		dec += 8 * px
	}
	return dec + 4*px
}

// decoderBuffers covers what a decoder allocates whatever the image size: zlib's window and
// tables, Huffman and LZW tables, read buffers (measured: under 60 kB).
const decoderBuffers = 96 << 10

func pngBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
		return 8
	case color.RGBAModel, color.NRGBAModel, color.GrayModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// pngInterlaced reads the IHDR's interlace byte (offset 28); unreadable counts as interlaced.
func pngInterlaced(r io.Reader) bool {
	var b [29]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return true
	}
	return string(b[12:16]) != "IHDR" || b[28] != 0
}

// jpegBytes walks the markers up to the frame header (skipping segments without reading them
// into memory) and counts what image/jpeg allocates for that frame. A header it cannot read
// counts the most any JPEG of this size could take.
func jpegBytes(r io.Reader, cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	worst := (w + 31) * (h + 31) * (4 + 16 + 4) // 4 components: planes and black, coefficients, CMYK
	br := bufio.NewReaderSize(r, 4096)
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil || b != [2]byte{0xff, 0xd8} {
		return worst
	}
	jfif, adobeRGB := false, false
	for {
		// A marker is 0xff, maybe more 0xff fill bytes, then its code.
		c, err := br.ReadByte()
		if err != nil || c != 0xff {
			return worst
		}
		for c == 0xff {
			if c, err = br.ReadByte(); err != nil {
				return worst
			}
		}
		if c == 0 || c == 0x01 || 0xd0 <= c && c <= 0xd8 { // no length follows
			continue
		}
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return worst
		}
		n := int(binary.BigEndian.Uint16(b[:])) - 2
		if n < 0 {
			return worst
		}
		switch {
		case c == 0xe0 && n >= 5: // APP0: JFIF means YCbCr
			var t [5]byte
			if _, err := io.ReadFull(br, t[:]); err != nil {
				return worst
			}
			jfif = string(t[:]) == "JFIF\x00"
			n -= 5
		case c == 0xee && n >= 12: // APP14: Adobe transform 0 means RGB
			var t [12]byte
			if _, err := io.ReadFull(br, t[:]); err != nil {
				return worst
			}
			if string(t[:5]) == "Adobe" {
				adobeRGB = t[11] == 0
			}
			n -= 12
		case c == 0xc0 || c == 0xc1 || c == 0xc2: // the frame header
			var t [6 + 3*4]byte
			if n < 6 || n > len(t) {
				return worst
			}
			if _, err := io.ReadFull(br, t[:n]); err != nil {
				return worst
			}
			nc := int(t[5])
			if nc != 1 && nc != 3 && nc != 4 || n != 6+3*nc {
				return worst
			}
			hmax, vmax := int64(1), int64(1)
			var hv [4][2]int64
			for i := 0; i < nc; i++ {
				hv[i] = [2]int64{max(int64(t[7+3*i]>>4), 1), max(int64(t[7+3*i]&15), 1)}
				hmax, vmax = max(hmax, hv[i][0]), max(vmax, hv[i][1])
			}
			if nc == 1 {
				hv[0], hmax, vmax = [2]int64{1, 1}, 1, 1 // image/jpeg treats grey as 1x1
			}
			mxx, myy := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
			padded := 64 * hmax * vmax * mxx * myy
			var total int64
			switch nc {
			case 1:
				total = padded
			case 3:
				total = 3 * padded
				if rgb := !jfif && (adobeRGB || t[6] == 'R' && t[9] == 'G' && t[12] == 'B'); rgb {
					total += 4 * w * h
				}
			case 4:
				total = 4*padded + 4*w*h
			}
			if c == 0xc2 {
				for i := 0; i < nc; i++ {
					total += 256 * mxx * myy * hv[i][0] * hv[i][1]
				}
			}
			return total
		case c == 0xda || c == 0xd9: // scan or end before any frame header
			return worst
		}
		if _, err := br.Discard(n); err != nil {
			return worst
		}
	}
}

// describe names the decoded pixel type for error messages.
func describe(cfg image.Config, format string) string {
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
		return "16 bits a channel"
	}
	if format == "jpeg" {
		return "JPEG planes and coefficients"
	}
	return "8 bits a channel"
}

// memBudget is a counting semaphore over bytes, in MiB units: acquire waits until n more fit
// under the size. Waiters queue on mu in arrival order, so a large decode is not overtaken
// forever by small ones; the one holding mu waits only for decodes already running to end.
type memBudget struct {
	mu     sync.Mutex
	tokens chan struct{}
}

const budgetUnit = 1 << 20

func newMemBudget(bytes int64) *memBudget {
	return &memBudget{tokens: make(chan struct{}, max(1, bytes/budgetUnit))}
}

// acquire takes n bytes (rounded up to whole units, at most the whole budget) and returns the
// units taken, for release.
func (b *memBudget) acquire(n int64) int {
	u := int(min((n+budgetUnit-1)/budgetUnit, int64(cap(b.tokens))))
	b.mu.Lock()
	for i := 0; i < u; i++ {
		b.tokens <- struct{}{}
	}
	b.mu.Unlock()
	return u
}

func (b *memBudget) release(u int) {
	for i := 0; i < u; i++ {
		<-b.tokens
	}
}

// inUse is the number of bytes held now.
func (b *memBudget) inUse() int64 { return int64(len(b.tokens)) * budgetUnit }
