package sfu

// maxLayers is the most simulcast layers one published track may have (the sequence
// history keeps the layer of every forwarded packet in two bits).
const maxLayers = 4

// coverTolerance: a layer covers a wanted size when each side is at least this fraction
// of the wanted one (encoders round sizes to multiples of 2, 8 or 16).
const coverTolerance = 0.9

// layerView is what layer selection knows about one layer.
type layerView struct {
	active        bool // packets arrived recently
	width, height int  // from the last keyframe; 0 when none was seen
	bitrate       int  // measured, bits per second
}

// layerWish is what one subscriber asks for.
type layerWish struct {
	width, height int   // wanted size; 0, 0 = as large as the budget allows
	pinned        int   // an explicit layer index, -1 for automatic
	budget        int64 // bits per second available for this video, 0 = unlimited
}

// rankLayers orders the layer indices from smallest to largest picture: by area when
// every active layer's size is known, else by index (the publisher's order).
func rankLayers(views []layerView, order *[maxLayers]int) int {
	n := 0
	bySize := true
	for i := range views {
		if !views[i].active {
			continue
		}
		if views[i].width == 0 {
			bySize = false
		}
		order[n] = i
		n++
	}
	if bySize {
		for i := 1; i < n; i++ { // insertion sort of at most maxLayers entries
			for j := i; j > 0; j-- {
				a, b := views[order[j-1]], views[order[j]]
				if a.width*a.height <= b.width*b.height {
					break
				}
				order[j-1], order[j] = order[j], order[j-1]
			}
		}
	}
	return n
}

// covers reports whether a w×h picture is big enough for a wanted size, comparing long
// side with long side and short with short so orientation does not matter.
func covers(w, h, wantW, wantH int) bool {
	long, short := max(w, h), min(w, h)
	wantLong, wantShort := max(wantW, wantH), min(wantW, wantH)
	return float64(long) >= coverTolerance*float64(wantLong) && float64(short) >= coverTolerance*float64(wantShort)
}

// chooseLayer picks the layer one subscriber should receive, or -1 when no layer is
// active. The wanted layer is the pinned one, else the smallest whose size covers the
// wish, else the largest; then, while its bitrate exceeds the budget, the next smaller.
// No allocation.
func chooseLayer(views []layerView, wish layerWish) int {
	var order [maxLayers]int
	n := rankLayers(views, &order)
	if n == 0 {
		return -1
	}
	pick := n - 1 // rank position
	switch {
	case wish.pinned >= 0:
		for k := 0; k < n; k++ {
			if order[k] == wish.pinned {
				pick = k
			}
		}
	case wish.width > 0 || wish.height > 0:
		for k := 0; k < n; k++ {
			v := views[order[k]]
			if v.width > 0 && covers(v.width, v.height, wish.width, wish.height) {
				pick = k
				break
			}
		}
	}
	if wish.budget > 0 {
		for pick > 0 && int64(views[order[pick]].bitrate) > wish.budget {
			pick--
		}
	}
	return order[pick]
}
