package quality

import "strconv"

// Quality is the NetworkQuality enum of spec §3.1. Larger is worse, except
// Unknown, which means there is no information.
type Quality uint8

// The values are the wire values of onUserNetworkQualityChanged.
const (
	Unknown   Quality = 0 // not enough data yet
	Excellent Quality = 1
	Good      Quality = 2
	Poor      Quality = 3
	Bad       Quality = 4
	Vbad      Quality = 5
	Down      Quality = 6 // connected, but no media and no RTCP for more than DownAfter
)

// String returns the enum name, e.g. "Excellent".
func (q Quality) String() string {
	switch q {
	case Unknown:
		return "Unknown"
	case Excellent:
		return "Excellent"
	case Good:
		return "Good"
	case Poor:
		return "Poor"
	case Bad:
		return "Bad"
	case Vbad:
		return "Vbad"
	case Down:
		return "Down"
	}
	return "Quality(" + strconv.Itoa(int(q)) + ")"
}

// Worse returns the worse of two qualities. Unknown carries no information,
// so Worse(Unknown, q) is q.
func Worse(a, b Quality) Quality {
	return max(a, b)
}

// better reports whether a is strictly better than b; Unknown is neither
// better nor worse than anything.
func better(a, b Quality) bool {
	return a != Unknown && b != Unknown && a < b
}
