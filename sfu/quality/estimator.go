package quality

import "time"

// Defaults of Config; each is part of the documented contract.
const (
	// DefaultMinPackets: an uplink sample with fewer expected packets in the
	// window (and no receiver report) is not enough data to score.
	DefaultMinPackets = 10
	// DefaultDownAfter: connected, but no media and no RTCP from the user for
	// longer than this, is Down.
	DefaultDownAfter = 5 * time.Second
	// DefaultRecoverAfter: a better level is reported only once it has been
	// measured in this many consecutive updates (4 s at the default 2 s
	// quality interval); a worse level is reported at once.
	DefaultRecoverAfter = 2
)

// Config tunes an Estimator; zero fields take the defaults above.
type Config struct {
	MinPackets   uint64
	DownAfter    time.Duration
	RecoverAfter int
}

func (c Config) withDefaults() Config {
	if c.MinPackets == 0 {
		c.MinPackets = DefaultMinPackets
	}
	if c.DownAfter <= 0 {
		c.DownAfter = DefaultDownAfter
	}
	if c.RecoverAfter <= 0 {
		c.RecoverAfter = DefaultRecoverAfter
	}
	return c
}

// Estimator is the network quality of one user. It belongs to the quality
// ticker goroutine; it is not safe for concurrent use.
//
// Each Update measures a raw level:
//
//  1. Not connected → Unknown (and the history is forgotten).
//  2. now - lastActivity > DownAfter → Down (lastActivity is the latest of
//     the last RTP packet, the last RTCP packet from the user, and the moment
//     the connection was established; a zero lastActivity skips this rule).
//  3. Otherwise the worst LevelForMOS(Score) over the informative uplink and
//     downlink samples (the worse of uplink and downlink). A sample without an
//     RTT uses the largest RTT among this update's samples, else the last RTT
//     seen, else 0.
//  4. No informative sample → no new measurement: Unknown until the first
//     one, then the previous level stays.
//
// The reported level follows the raw one with hysteresis, dropping fast and
// recovering slowly: the first measurement and every worse (or equal) level
// apply at once; a better level applies once better levels were measured in
// RecoverAfter consecutive updates, and then the worst of them applies.
type Estimator struct {
	cfg Config

	current  Quality
	pending  Quality // worst of the consecutive better measurements
	pendings int     // how many consecutive better measurements
	lastRTT  time.Duration
}

// NewEstimator returns an Estimator reporting Unknown.
func NewEstimator(cfg Config) *Estimator {
	return &Estimator{cfg: cfg.withDefaults()}
}

// Quality returns the level reported by the last Update.
func (e *Estimator) Quality() Quality { return e.current }

// Update takes one quality window's samples and returns the user's quality.
func (e *Estimator) Update(now time.Time, up, down []LinkSample, connected bool, lastActivity time.Time) Quality {
	if !connected {
		*e = Estimator{cfg: e.cfg}
		return Unknown
	}
	e.apply(e.measure(now, up, down, lastActivity))
	return e.current
}

// measure returns the raw level of one window (rules 2..4 without
// hysteresis, and Unknown for "no measurement").
func (e *Estimator) measure(now time.Time, up, down []LinkSample, lastActivity time.Time) Quality {
	if !lastActivity.IsZero() && now.Sub(lastActivity) > e.cfg.DownAfter {
		return Down
	}
	rtt := time.Duration(0)
	for _, samples := range [2][]LinkSample{up, down} {
		for _, s := range samples {
			rtt = max(rtt, s.RTT)
		}
	}
	if rtt > 0 {
		e.lastRTT = rtt
	} else {
		rtt = e.lastRTT
	}
	level := Unknown
	for _, samples := range [2][]LinkSample{up, down} {
		for _, s := range samples {
			if !s.informative(e.cfg.MinPackets) {
				continue
			}
			_, mos := Score(s, rtt)
			level = Worse(level, LevelForMOS(mos))
		}
	}
	return level
}

func (e *Estimator) apply(measured Quality) {
	switch {
	case measured == Unknown:
		// Nothing measured: keep the level; recovery needs consecutive proof.
		e.pendings = 0
	case e.current == Unknown || !better(measured, e.current):
		e.current = measured
		e.pendings = 0
	default:
		if e.pendings == 0 {
			e.pending = measured
		} else {
			e.pending = Worse(e.pending, measured)
		}
		e.pendings++
		if e.pendings >= e.cfg.RecoverAfter {
			e.current = e.pending
			e.pendings = 0
		}
	}
}
