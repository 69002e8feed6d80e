package sfu

// maxLayers is the most simulcast layers one published track may have (the sequence
// history keeps the layer of every forwarded packet in two bits).
const maxLayers = 4

// coverTolerance: a layer covers a wanted size when each side is at least this fraction
// of the wanted one (encoders round sizes to multiples of 2, 8 or 16).
const coverTolerance = 0.9

// layerView is what layer selection knows about one layer.
type layerView struct {
	active        bool // packets arrived recently, and the layer is not settling (simulcast.go)
	width, height int  // from the last keyframe; 0 when none was seen
	bitrate       int  // measured, bits per second
}

// layerWish is what one subscriber asks for.
type layerWish struct {
	width, height int // wanted size; 0, 0 = as large as the cap allows
	pinned        int // an explicit layer index, -1 for automatic
	limit         int // 1 + the largest layer the downlink allows (bandwidth allocation); 0 = no cap
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
// wish, else the largest; then no larger than the cap (layer limit-1, or the largest
// active layer not larger than it; the smallest active layer when every one is larger).
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
	if c := wish.limit - 1; c >= 0 && c < len(views) {
		pick = min(pick, capRank(views, order[:n], c))
	}
	return order[pick]
}

// capRank is the rank position of the largest active layer (order from rankLayers) that
// is not larger than layer c: by area when both sizes are known, else by index; 0 when
// none is.
func capRank(views []layerView, order []int, c int) int {
	best := 0
	for k, i := range order {
		a, b := views[i], views[c]
		notLarger := i <= c
		if a.width > 0 && b.width > 0 {
			notLarger = a.width*a.height <= b.width*b.height
		}
		if notLarger {
			best = k
		}
	}
	return best
}
