package sfu

import (
	"math"
	"time"
)

// A send-side bandwidth estimator after Google Congestion Control's published design
// (draft-ietf-rmcat-gcc-02): a delay-based part (packets grouped by send time, the
// trend of their one-way delay variation over a window of groups, an adaptive threshold
// and an overuse detector driving an AIMD rate controller, a decrease going to 0.85 of
// the acknowledged rate) and a loss-based part (up 5 % per 200 ms while loss stays under
// 2 %, down by half the loss
// above 10 % but not below 0.85 of the acknowledged rate); the estimate is the lower of
// the two. Pure: the caller (congestion.go,
// the subscriber Peer's RTCP goroutine) feeds one feedback packet's acknowledgements in
// transport-wide sequence order between begin and end and passes now; nothing here
// allocates, reads a clock or locks.

const (
	gccBurstWindow     = 5 * time.Millisecond // packets sent within it form one group
	gccTrendWindow     = 20                   // groups in the trend's regression
	gccTrendSmoothing  = 0.9                  // of the accumulated delay
	gccTrendGain       = 4.0                  // slope to threshold units
	gccMaxTrendDeltas  = 60                   // the slope weighs at most this many deltas
	gccThresholdInit   = 12.5                 // ms
	gccThresholdMin    = 6.0
	gccThresholdMax    = 600.0
	gccThresholdUp     = 0.0087 // adaptation when the trend is above the threshold
	gccThresholdDown   = 0.039  // and below it
	gccOveruseTime     = 10.0   // ms the trend must stay over the threshold
	gccBeta            = 0.85   // a delay-based decrease goes to this fraction of the acknowledged rate
	gccIncreasePerSec  = 1.08   // multiplicative increase far from the link's known capacity
	gccResponseTime    = 200 * time.Millisecond
	gccDecreaseSpacing = 200 * time.Millisecond // least time between two delay-based decreases
	gccLossLow         = 0.02
	gccLossHigh        = 0.10
	gccLossIncrease    = 1.05
	gccLossSpacing     = 200 * time.Millisecond // least time between two loss-based changes
	gccLossMinPackets  = 20                     // acknowledgements a loss ratio is taken over
	gccFeedbackGap     = time.Second            // feedback after a longer silence starts a new trend
	gccRateWindowUs    = 500_000                // the acknowledged rate is measured over this window
	gccRateSamples     = 512
)

// gccUsage is the overuse detector's reading.
type gccUsage uint8

const (
	usageNormal gccUsage = iota
	usageOver
	usageUnder
)

// gccState is the rate controller's state.
type gccState uint8

const (
	stateIncrease gccState = iota
	stateHold
	stateDecrease
)

// gccConfig bounds the estimate (bits per second).
type gccConfig struct {
	Initial, Min, Max int64
}

// arrivalGroup is a burst of packets sent within gccBurstWindow.
type arrivalGroup struct {
	firstSendNs, lastSendNs, lastArrivalUs int64
}

// gccEstimator is one subscriber PeerConnection's estimate. Owned by its RTCP goroutine.
type gccEstimator struct {
	cfg gccConfig

	// Grouping and delay trend.
	cur, prev     arrivalGroup
	hasCur        bool
	hasPrev       bool
	trend         trendline
	threshold     float64 // ms
	lastThreshUs  int64   // arrival time of the last threshold update, 0 none
	overMs        float64 // time the trend has been over the threshold
	overCount     int
	prevTrend     float64
	usage         gccUsage // the detector's last reading
	overuseInFeed bool     // an overuse was detected within the current feedback

	acked ackedRate

	// AIMD rate control.
	state          gccState
	delayBps       float64
	lastRateUpdate time.Time // zero before the first feedback
	lastDecrease   time.Time
	capacity       float64 // average acknowledged rate at decreases (bps), 0 unknown
	capacityVar    float64 // its variance, normalised by it

	// Loss.
	lossBps          float64
	lost, total      int // acknowledgements since the last loss update
	lastLossIncrease time.Time
	lastLossDecrease time.Time

	lastFeedback time.Time
	target       int64
}

// init resets e to its state before any feedback.
func (e *gccEstimator) init(cfg gccConfig) {
	*e = gccEstimator{cfg: cfg, threshold: gccThresholdInit, delayBps: float64(cfg.Initial), lossBps: float64(cfg.Initial)}
	e.target = e.clamp(cfg.Initial)
}

func (e *gccEstimator) clamp(bps int64) int64 { return min(max(bps, e.cfg.Min), e.cfg.Max) }

// estimate is the current target in bits per second.
func (e *gccEstimator) estimate() int64 { return e.target }

// begin starts one feedback packet at now. After a silence longer than gccFeedbackGap
// the delay trend starts over (the groups before the gap say nothing about the queue
// now); the rates are kept.
func (e *gccEstimator) begin(now time.Time) {
	if !e.lastFeedback.IsZero() && now.Sub(e.lastFeedback) > gccFeedbackGap {
		e.resetTrend()
		e.acked = ackedRate{}
		e.lost, e.total = 0, 0
		e.lastRateUpdate = now
	}
	e.lastFeedback = now
	e.overuseInFeed = false
}

func (e *gccEstimator) resetTrend() {
	e.hasCur, e.hasPrev = false, false
	e.trend = trendline{}
	e.overMs, e.overCount, e.prevTrend, e.lastThreshUs = 0, 0, 0, 0
	e.usage = usageNormal
}

// packet takes one acknowledgement: the packet sent at sendNs (sender's monotonic
// clock) of size bytes, received at arrivalUs (receiver's clock) or lost.
func (e *gccEstimator) packet(sendNs, arrivalUs int64, size int, received bool) {
	e.total++
	if !received {
		e.lost++
		return
	}
	e.acked.add(arrivalUs, size)
	switch {
	case !e.hasCur:
		e.cur = arrivalGroup{firstSendNs: sendNs, lastSendNs: sendNs, lastArrivalUs: arrivalUs}
		e.hasCur = true
		return
	case sendNs < e.cur.firstSendNs: // reordered from an earlier group
		return
	case e.inGroup(sendNs, arrivalUs):
		e.cur.lastSendNs = max(e.cur.lastSendNs, sendNs)
		e.cur.lastArrivalUs = max(e.cur.lastArrivalUs, arrivalUs)
		return
	}
	if e.hasPrev {
		e.groupDelta(e.prev, e.cur)
	}
	e.prev, e.hasPrev = e.cur, true
	e.cur = arrivalGroup{firstSendNs: sendNs, lastSendNs: sendNs, lastArrivalUs: arrivalUs}
}

// inGroup: sent within the burst window of the group's first packet, or a burst the
// network delivered closer together than it was sent.
func (e *gccEstimator) inGroup(sendNs, arrivalUs int64) bool {
	if sendNs-e.cur.firstSendNs <= int64(gccBurstWindow) {
		return true
	}
	arrivalDelta := (arrivalUs - e.cur.lastArrivalUs) * 1000
	sendDelta := sendNs - e.cur.lastSendNs
	return arrivalDelta <= int64(gccBurstWindow) && arrivalDelta-sendDelta < 0
}

// groupDelta feeds the delay variation between two complete groups to the trend and the
// detector.
func (e *gccEstimator) groupDelta(a, b arrivalGroup) {
	sendMs := float64(b.lastSendNs-a.lastSendNs) / 1e6
	arrivalMs := float64(b.lastArrivalUs-a.lastArrivalUs) / 1e3
	if arrivalMs < 0 || arrivalMs-sendMs > 3000 { // the receiver's clock jumped
		e.resetTrend()
		return
	}
	slope, ok := e.trend.update(arrivalMs-sendMs, float64(b.lastArrivalUs)/1e3)
	if !ok {
		return
	}
	modified := float64(min(e.trend.deltas, gccMaxTrendDeltas)) * slope * gccTrendGain
	e.detect(modified, arrivalMs, b.lastArrivalUs)
}

// detect compares the trend with the adaptive threshold.
func (e *gccEstimator) detect(trend, deltaMs float64, arrivalUs int64) {
	switch {
	case trend > e.threshold:
		if e.overCount == 0 {
			e.overMs = deltaMs / 2
		} else {
			e.overMs += deltaMs
		}
		e.overCount++
		if e.overMs > gccOveruseTime && e.overCount > 1 && trend >= e.prevTrend {
			e.overMs, e.overCount = 0, 0
			e.usage = usageOver
			e.overuseInFeed = true
		}
	case trend < -e.threshold:
		e.overMs, e.overCount = 0, 0
		e.usage = usageUnder
	default:
		e.overMs, e.overCount = 0, 0
		e.usage = usageNormal
	}
	e.prevTrend = trend
	e.adaptThreshold(trend, arrivalUs)
}

// adaptThreshold moves the threshold toward |trend|: quickly down, slowly up, not for
// outliers, within [gccThresholdMin, gccThresholdMax].
func (e *gccEstimator) adaptThreshold(trend float64, arrivalUs int64) {
	if e.lastThreshUs == 0 {
		e.lastThreshUs = arrivalUs
	}
	abs := math.Abs(trend)
	if abs > e.threshold+15 {
		e.lastThreshUs = arrivalUs
		return
	}
	k := gccThresholdUp
	if abs < e.threshold {
		k = gccThresholdDown
	}
	dtMs := min(float64(arrivalUs-e.lastThreshUs)/1e3, 100)
	e.threshold += k * (abs - e.threshold) * max(dtMs, 0)
	e.threshold = min(max(e.threshold, gccThresholdMin), gccThresholdMax)
	e.lastThreshUs = arrivalUs
}

// end finishes the feedback packet begun at now and returns the new estimate.
func (e *gccEstimator) end(now time.Time) int64 {
	e.updateDelayRate(now)
	e.updateLossRate(now)
	e.target = e.clamp(int64(min(e.delayBps, e.lossBps)))
	return e.target
}

// updateDelayRate runs the AIMD controller on the detector's reading.
func (e *gccEstimator) updateDelayRate(now time.Time) {
	usage := e.usage
	if e.overuseInFeed {
		usage = usageOver
	}
	acked := float64(e.acked.bps())
	if e.lastRateUpdate.IsZero() {
		e.lastRateUpdate = now
	}
	switch usage {
	case usageOver:
		e.state = stateDecrease
	case usageUnder:
		e.state = stateHold
	default:
		if e.state != stateIncrease {
			e.state = stateIncrease
			e.lastRateUpdate = now // the increase runs from here
		}
	}
	switch e.state {
	case stateDecrease:
		if !e.lastDecrease.IsZero() && now.Sub(e.lastDecrease) < gccDecreaseSpacing {
			return
		}
		next := gccBeta * e.delayBps
		if acked > 0 {
			next = gccBeta * acked
			e.noteCapacity(acked)
		}
		e.delayBps = max(min(next, e.delayBps), float64(e.cfg.Min))
		e.lastDecrease, e.lastRateUpdate = now, now
		e.state = stateHold
	case stateIncrease:
		dt := min(now.Sub(e.lastRateUpdate), time.Second)
		if dt <= 0 {
			return
		}
		e.lastRateUpdate = now
		if e.capacity > 0 && acked > e.capacity*(1+3*math.Sqrt(e.capacityVar)) {
			e.capacity, e.capacityVar = 0, 0 // the link got faster than it was
		}
		var next float64
		if e.capacity > 0 {
			next = e.delayBps + e.additiveIncrease(dt)
		} else {
			next = e.delayBps * math.Pow(gccIncreasePerSec, dt.Seconds())
			next = max(next, e.delayBps+1000*dt.Seconds())
		}
		if acked > 0 && 1.5*acked > e.delayBps {
			// A link carrying more than the estimate: grow to 1.5x that at most. It is not
			// bounded by what is sent otherwise: the SFU sends no padding to probe, so an
			// estimate bounded by the sent rate could never cover a higher layer; the
			// allocator's step-ups are the probes, and one the link cannot carry brings
			// an overuse and a decrease to gccBeta of what it delivered.
			next = min(next, 1.5*acked)
		}
		e.delayBps = min(next, float64(e.cfg.Max))
	}
}

// additiveIncrease is about one packet per response time near the known capacity.
func (e *gccEstimator) additiveIncrease(dt time.Duration) float64 {
	bitsPerFrame := e.delayBps / 30
	packets := math.Ceil(bitsPerFrame / (1200 * 8))
	packetBits := bitsPerFrame / max(packets, 1)
	perSecond := max(1000, packetBits*float64(time.Second)/float64(gccResponseTime))
	return perSecond * dt.Seconds()
}

// noteCapacity averages the acknowledged rate at decreases: the link's capacity.
func (e *gccEstimator) noteCapacity(acked float64) {
	if e.capacity == 0 {
		e.capacity = acked
		return
	}
	const alpha = 0.05
	if acked > e.capacity*(1+3*math.Sqrt(e.capacityVar)) || acked < e.capacity*(1-3*math.Sqrt(e.capacityVar)) {
		e.capacity, e.capacityVar = acked, 0 // a new level
		return
	}
	d := (acked - e.capacity) / e.capacity
	e.capacity = (1-alpha)*e.capacity + alpha*acked
	e.capacityVar = min(max((1-alpha)*e.capacityVar+alpha*d*d, 0.0004), 0.16)
}

// updateLossRate applies the loss ratio once enough acknowledgements came.
func (e *gccEstimator) updateLossRate(now time.Time) {
	if e.total < gccLossMinPackets {
		return
	}
	loss := float64(e.lost) / float64(e.total)
	e.lost, e.total = 0, 0
	switch {
	case loss < gccLossLow && now.Sub(e.lastLossIncrease) >= gccLossSpacing:
		// gccLossIncrease per gccLossSpacing elapsed (up to a second's worth): as fast
		// for a subscriber of one small layer, whose feedback brings few packets, as
		// for one receiving much.
		steps := 1.0
		if !e.lastLossIncrease.IsZero() {
			steps = float64(min(now.Sub(e.lastLossIncrease), time.Second)) / float64(gccLossSpacing)
		}
		e.lossBps *= math.Pow(gccLossIncrease, steps)
		e.lastLossIncrease = now
	case loss > gccLossHigh && now.Sub(e.lastLossDecrease) >= gccLossSpacing:
		next := e.lossBps * (1 - 0.5*loss)
		if acked := float64(e.acked.bps()); acked > 0 {
			// Not below what the link delivered (as a delay-based decrease): the sender
			// may not have slowed down yet, and the loss it still causes says nothing
			// new about the link.
			next = max(next, min(e.lossBps, gccBeta*acked))
		}
		e.lossBps = next
		e.lastLossDecrease = now
	}
	// The loss-based bound never runs ahead of the delay-based one (nor below the floor).
	e.lossBps = max(min(e.lossBps, e.delayBps), float64(e.cfg.Min))
}

// trendline is the least-squares slope of the smoothed accumulated delay variation over
// the last gccTrendWindow groups.
type trendline struct {
	deltas      int // deltas seen (capped)
	accumulated float64
	smoothed    float64
	firstMs     float64
	x, y        [gccTrendWindow]float64
	n, head     int
}

// update adds one group's delay variation (ms) at its arrival time (ms) and returns the
// slope once the window is full.
func (t *trendline) update(deltaMs, arrivalMs float64) (float64, bool) {
	if t.deltas == 0 && t.n == 0 {
		t.firstMs = arrivalMs
	}
	t.deltas = min(t.deltas+1, 1000)
	t.accumulated += deltaMs
	t.smoothed = gccTrendSmoothing*t.smoothed + (1-gccTrendSmoothing)*t.accumulated
	t.x[t.head], t.y[t.head] = arrivalMs-t.firstMs, t.smoothed
	t.head = (t.head + 1) % gccTrendWindow
	t.n = min(t.n+1, gccTrendWindow)
	if t.n < gccTrendWindow {
		return 0, false
	}
	var sx, sy float64
	for i := range gccTrendWindow {
		sx += t.x[i]
		sy += t.y[i]
	}
	mx, my := sx/gccTrendWindow, sy/gccTrendWindow
	var num, den float64
	for i := range gccTrendWindow {
		num += (t.x[i] - mx) * (t.y[i] - my)
		den += (t.x[i] - mx) * (t.x[i] - mx)
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// ackedRate is the rate of acknowledged bytes over the last gccRateWindowUs of arrivals.
type ackedRate struct {
	arrival [gccRateSamples]int64
	size    [gccRateSamples]int32
	head, n int
	bytes   int64
}

func (r *ackedRate) add(arrivalUs int64, size int) {
	if r.n > 0 && arrivalUs < r.arrival[(r.head+r.n-1)%gccRateSamples]-int64(time.Second/time.Microsecond) {
		*r = ackedRate{} // the receiver's clock went back
	}
	for r.n > 0 && (r.n == gccRateSamples || arrivalUs-r.arrival[r.head] > gccRateWindowUs) {
		r.bytes -= int64(r.size[r.head])
		r.head = (r.head + 1) % gccRateSamples
		r.n--
	}
	i := (r.head + r.n) % gccRateSamples
	r.arrival[i], r.size[i] = arrivalUs, int32(size)
	r.n++
	r.bytes += int64(size)
}

// bps is the acknowledged rate, 0 while it spans less than a fifth of its window.
func (r *ackedRate) bps() int64 {
	if r.n < 2 {
		return 0
	}
	first, last := r.arrival[r.head], r.arrival[(r.head+r.n-1)%gccRateSamples]
	span := last - first
	if span < gccRateWindowUs/5 {
		return 0
	}
	return (r.bytes - int64(r.size[r.head])) * 8 * 1_000_000 / span
}
