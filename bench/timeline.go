package bench

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// The calls' timeline (Report.Calls.Timeline, D135): where the time from the accept to
// the first frame goes, per step, over the calls of the run (one value per call side or
// server participant). The bench measures the client steps itself, from the callee's
// accept being sent: onCallBegin received, the other party's first RTP packet received,
// the first packet of its first keyframe and that keyframe complete (every packet from
// its first to its marker, in sequence: decodable). The server steps come from the
// server's parley_call_timeline_seconds histogram (its accept → room join, activated,
// ICE and DTLS of each PeerConnection, first RTP in and out), the difference of its
// buckets between the run's first /metrics scrape and one after the run, summed over
// the nodes: a server that serves other calls meanwhile counts them too.

// timelineMetric is the server's histogram of call steps (ops/metrics).
const timelineMetric = "parley_call_timeline_seconds_bucket"

// What one scrape keeps of it at most: steps, and buckets per step (/metrics is input the
// bench does not control).
const (
	maxScrapedSteps   = 64
	maxScrapedBuckets = 256
)

// Client steps (TimelineStep.Step with Source "client").
const (
	StepCallBegin         = "on_call_begin"
	StepFirstRTPReceived  = "first_rtp_received"
	StepKeyframeReceived  = "first_keyframe_received"
	StepKeyframeDecodable = "first_keyframe_decodable"
	timelineSourceClient  = "client"
	timelineSourceServer  = "server"
)

// serverSteps are the server's steps in order (room.CallSteps: bench may not import
// room, so they are named here; a step the server does not report is left out).
var serverSteps = []string{
	"room_join", "activated", "publisher_ice_connected", "publisher_dtls_connected",
	"subscriber_ice_connected", "subscriber_dtls_connected", "first_rtp_in", "first_rtp_out",
}

// TimelineStep is one step of the calls' timeline: milliseconds from the accept.
type TimelineStep struct {
	Step string `json:"step"`
	// Source: "client" (measured by the bench from its accept sent) or "server" (from the
	// server's histogram, timed from the accept as the server handled it).
	Source string  `json:"source"`
	Count  uint64  `json:"count"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	// Max: a server step's is the upper bound of the highest bucket reached (the server
	// keeps buckets, not values); beyond the last bound it is that bound.
	Max float64 `json:"max_ms"`
	// BeforeAccept (server steps): the participants that reached the step before the
	// accept (early media), counted as 0 ms.
	BeforeAccept uint64 `json:"before_accept,omitempty"`
}

// stepBuckets are the cumulative bucket counts of the server's call step histogram:
// step → upper bound (seconds; +Inf included) → count.
type stepBuckets map[string]map[float64]float64

// add adds o's counts (the nodes' sum).
func (s stepBuckets) add(o stepBuckets) stepBuckets {
	if len(o) == 0 {
		return s
	}
	out := stepBuckets{}
	for _, src := range []stepBuckets{s, o} {
		for step, b := range src {
			if out[step] == nil {
				out[step] = map[float64]float64{}
			}
			for le, n := range b {
				out[step][le] += n
			}
		}
	}
	return out
}

// addBucketLine records one sample line of timelineMetric: its labels (the text between
// the braces) name the step and the upper bound.
func (s stepBuckets) addBucketLine(labels string, v float64) {
	var step, le string
	haveLE := false
	for _, pair := range splitLabels(labels) {
		k, val, ok := strings.Cut(pair, "=")
		if !ok || len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
			continue
		}
		switch strings.TrimSpace(k) {
		case "step":
			step = val[1 : len(val)-1]
		case "le":
			le, haveLE = val[1:len(val)-1], true
		}
	}
	bound, err := strconv.ParseFloat(le, 64)
	if step == "" || !haveLE || err != nil || math.IsNaN(bound) || math.IsNaN(v) {
		return
	}
	b := s[step]
	if b == nil {
		if len(s) >= maxScrapedSteps {
			return // bounded: a server reports a handful of steps
		}
		b = map[float64]float64{}
		s[step] = b
	}
	if _, ok := b[bound]; ok || len(b) < maxScrapedBuckets {
		b[bound] += v
	}
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// bucketSummary is the step's count, p50, p95 and max (ms) of what was observed between
// two scrapes of its cumulative buckets (start may be nil: before the first call; end
// lower than start: the server restarted, end alone counts). Quantiles interpolate
// within their bucket as Prometheus' histogram_quantile does; one in the +Inf bucket is
// the last finite bound.
func bucketSummary(step string, start, end map[float64]float64) TimelineStep {
	out := TimelineStep{Step: step, Source: timelineSourceServer}
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range end {
			if !yield(b) {
				return
			}
		}
	})
	if len(bounds) == 0 {
		return out
	}
	top := bounds[len(bounds)-1]
	restarted := end[top] < start[top]
	cum := make([]float64, len(bounds))
	for i, b := range bounds {
		cum[i] = end[b]
		if !restarted {
			cum[i] -= start[b]
		}
		if i > 0 && cum[i] < cum[i-1] {
			cum[i] = cum[i-1] // a malformed exposition: keep counts cumulative
		}
	}
	total := cum[len(cum)-1]
	if total <= 0 {
		return out
	}
	out.Count = uint64(total)
	finite := func(i int) float64 { // bound i (≥ 0), or the last finite one for +Inf
		for ; i > 0 && math.IsInf(bounds[i], 1); i-- {
		}
		if math.IsInf(bounds[i], 1) {
			return 0
		}
		return max(bounds[i], 0)
	}
	quantile := func(q float64) float64 {
		rank := q * total
		i := 0
		for i < len(cum)-1 && cum[i] < rank {
			i++
		}
		hi := bounds[i]
		switch {
		case math.IsInf(hi, 1):
			return finite(i)
		case hi <= 0:
			return 0 // before the accept
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = max(bounds[i-1], 0), cum[i-1]
		}
		inBucket := cum[i] - below
		if inBucket <= 0 {
			return hi
		}
		return lo + (hi-lo)*(rank-below)/inBucket
	}
	out.P50, out.P95 = quantile(0.5)*1000, quantile(0.95)*1000
	for i := range cum {
		if cum[i] >= total {
			out.Max = finite(i) * 1000
			break
		}
	}
	if i, ok := slices.BinarySearch(bounds, 0); ok {
		out.BeforeAccept = uint64(cum[i])
	}
	return out
}

// timeline is the calls' timeline: onCallBegin (client), the server's steps between
// the scrapes start and end, then the client's media steps (keyframes in video calls).
// Steps without values are left out.
func (c *callMeter) timeline(start, end stepBuckets) []TimelineStep {
	var out []TimelineStep
	client := func(step string, h *Histogram) {
		if h.Count() == 0 {
			return
		}
		s := h.Summary()
		out = append(out, TimelineStep{Step: step, Source: timelineSourceClient, Count: s.Count, P50: s.P50, P95: s.P95, Max: s.Max})
	}
	client(StepCallBegin, &c.acceptBegin)
	for _, step := range serverSteps {
		if s := bucketSummary(step, start[step], end[step]); s.Count > 0 {
			out = append(out, s)
		}
	}
	client(StepFirstRTPReceived, &c.acceptFirstRTP)
	client(StepKeyframeReceived, &c.acceptKeyframe)
	client(StepKeyframeDecodable, &c.acceptDecodable)
	return out
}
