package twccfb

import "encoding/binary"

// chunkWriter encodes packet status symbols into chunks as libwebrtc's and pion's
// writers do: up to 7 mixed symbols in a two-bit vector, up to 14 without a large delta in
// a one-bit vector, runs of one symbol (up to 8191) in a run-length chunk.
type chunkWriter struct {
	out      []byte
	n        int      // chunk bytes written
	syms     [14]byte // the first statuses not yet in a chunk
	size     int      // statuses not yet in a chunk
	allSame  bool
	hasLarge bool
}

func (c *chunkWriter) reset(out []byte) {
	*c = chunkWriter{out: out}
}

// bytesAtMost is how many chunk bytes the statuses so far take at most.
func (c *chunkWriter) bytesAtMost() int { return c.n + 4 }

func (c *chunkWriter) canAdd(sym byte) bool {
	switch {
	case c.size < 7:
		return true
	case c.size < 14 && !c.hasLarge && sym != LargeDelta:
		return true
	default:
		return c.size < maxRunLength && c.allSame && c.syms[0] == sym
	}
}

func (c *chunkWriter) add(sym byte) {
	if !c.canAdd(sym) {
		c.emit()
	}
	if c.size < len(c.syms) {
		c.syms[c.size] = sym
	}
	c.allSame = c.size == 0 || (c.allSame && sym == c.syms[0])
	c.hasLarge = c.hasLarge || sym == LargeDelta
	c.size++
}

// emit writes the chunk the pending statuses start with.
func (c *chunkWriter) emit() {
	switch {
	case c.allSame:
		c.put(uint16(c.syms[0])<<13 | uint16(c.size))
		c.size = 0
	case c.size == 14:
		c.putVector(1, 14)
		c.size = 0
	default: // 7 < size < 14 with a large delta, or exactly 7 mixed
		c.putVector(2, 7)
		rest := c.size - 7
		copy(c.syms[:rest], c.syms[7:c.size])
		c.size, c.allSame, c.hasLarge = rest, true, false
		for i := range rest {
			c.allSame = c.allSame && c.syms[i] == c.syms[0]
			c.hasLarge = c.hasLarge || c.syms[i] == LargeDelta
		}
	}
}

// putVector writes a status vector of the first n pending statuses, bits per symbol.
func (c *chunkWriter) putVector(bits, n int) {
	v := uint16(0x8000)
	if bits == 2 {
		v |= 0x4000
	}
	for i := range n {
		v |= uint16(c.syms[i]) << (14 - bits*(i+1))
	}
	c.put(v)
}

func (c *chunkWriter) put(v uint16) {
	binary.BigEndian.PutUint16(c.out[c.n:], v)
	c.n += 2
}

// finish writes the pending statuses (a run, or a vector padded with "not received",
// which the status count leaves unread) and returns the chunk bytes.
func (c *chunkWriter) finish() int {
	switch {
	case c.size == 0:
	case c.allSame:
		c.emit()
	case c.size <= 7:
		c.putVector(2, c.size)
	default: // ≤ 14, no large delta
		c.putVector(1, c.size)
	}
	c.size = 0
	return c.n
}
