package signaling

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// LimitsConfig is the `limits` section: token-bucket rate limits on what one client asks
// for. A refused request gets 6001 (protocol.RateLimited) naming the limit and when to
// retry; the session stays up.
type LimitsConfig struct {
	// FailedLoginsPerMinute and FailedLoginsBurst bound failed logins (a userSig that
	// does not verify) per client IP (IPv6: per /64), taken from the TCP connection (no
	// proxy header is trusted). Once the bucket is empty every login from that IP, even
	// with a valid userSig, is refused until a token refills.
	FailedLoginsPerMinute int `mapstructure:"failed_logins_per_minute"`
	FailedLoginsBurst     int `mapstructure:"failed_logins_burst"`
	// InvitationsPerMinute and InvitationsBurst bound the invitees per user: call,
	// groupCall, calls and inviteUser take one token per user they invite. The burst is
	// at least protocol.MaxInvitees, so one full request can pass.
	InvitationsPerMinute int `mapstructure:"invitations_per_minute"`
	InvitationsBurst     int `mapstructure:"invitations_burst"`
	// TricklesPerSecond and TricklesBurst bound the trickle requests per session.
	TricklesPerSecond int `mapstructure:"trickles_per_second"`
	TricklesBurst     int `mapstructure:"trickles_burst"`
	// MediaSwitchesPerMinute and MediaSwitchesBurst bound switchCallMediaType per
	// session: each switch is an event to every other member, so an unbounded toggle
	// would flood them.
	MediaSwitchesPerMinute int `mapstructure:"media_switches_per_minute"`
	MediaSwitchesBurst     int `mapstructure:"media_switches_burst"`
	// DeviceTogglesPerMinute and DeviceTogglesBurst bound openCamera, closeCamera,
	// openMicrophone and closeMicrophone per session: each change is an event to every
	// other user of the room.
	DeviceTogglesPerMinute int `mapstructure:"device_toggles_per_minute"`
	DeviceTogglesBurst     int `mapstructure:"device_toggles_burst"`
}

// DefaultLimitsConfig returns the defaults: 10 failed logins a minute per IP (burst 20),
// 60 invitees a minute per user (burst 64), 50 trickles a second per session (burst 100),
// 30 media type switches a minute per session (burst 10), 120 camera/microphone toggles a
// minute per session (burst 20).
func DefaultLimitsConfig() LimitsConfig {
	return LimitsConfig{
		FailedLoginsPerMinute:  10,
		FailedLoginsBurst:      20,
		InvitationsPerMinute:   60,
		InvitationsBurst:       64,
		TricklesPerSecond:      50,
		TricklesBurst:          100,
		MediaSwitchesPerMinute: 30,
		MediaSwitchesBurst:     10,
		DeviceTogglesPerMinute: 120,
		DeviceTogglesBurst:     20,
	}
}

// Validate checks the section; each error names its key.
func (c LimitsConfig) Validate() error {
	var errs []error
	check := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("limits.%s: must be %d..%d, got %d", key, lo, hi, v))
		}
	}
	check("failed_logins_per_minute", c.FailedLoginsPerMinute, 1, 100_000)
	check("failed_logins_burst", c.FailedLoginsBurst, 1, 100_000)
	check("invitations_per_minute", c.InvitationsPerMinute, 1, 100_000)
	check("invitations_burst", c.InvitationsBurst, protocol.MaxInvitees, 100_000)
	check("trickles_per_second", c.TricklesPerSecond, 1, 100_000)
	check("trickles_burst", c.TricklesBurst, 1, 100_000)
	check("media_switches_per_minute", c.MediaSwitchesPerMinute, 1, 100_000)
	check("media_switches_burst", c.MediaSwitchesBurst, 1, 100_000)
	check("device_toggles_per_minute", c.DeviceTogglesPerMinute, 1, 100_000)
	check("device_toggles_burst", c.DeviceTogglesBurst, 1, 100_000)
	return errors.Join(errs...)
}

// limiters holds the Service's rate limits and counts what they refuse.
type limiters struct {
	cfg          LimitsConfig
	failedLogins *keyedBuckets // by client IP
	invitations  *keyedBuckets // by userId

	refusedLogins, refusedInvitations, refusedTrickles, refusedSwitches, refusedToggles atomic.Uint64
}

func newLimiters(cfg LimitsConfig) *limiters {
	return &limiters{
		cfg:          cfg,
		failedLogins: newKeyedBuckets(rate.Limit(float64(cfg.FailedLoginsPerMinute)/60), cfg.FailedLoginsBurst),
		invitations:  newKeyedBuckets(rate.Limit(float64(cfg.InvitationsPerMinute)/60), cfg.InvitationsBurst),
	}
}

// LimitStats counts what the limits of the Service refused and how its connections
// pushed back on pipelining clients (ops/metrics exposes them).
type LimitStats struct {
	// FailedLogins, Invitations, Trickles, MediaSwitches, DeviceToggles: requests refused
	// with 6001, by limit.
	FailedLogins, Invitations, Trickles, MediaSwitches, DeviceToggles uint64
	ServerStats
}

// LimitStats returns the refusal counters. Refused ICE candidates are counted by the
// sfu.Engine, refused remote-view wishes by the room.Manager.
func (s *Service) LimitStats() LimitStats {
	l := s.limits
	return LimitStats{
		FailedLogins:  l.refusedLogins.Load(),
		Invitations:   l.refusedInvitations.Load(),
		Trickles:      l.refusedTrickles.Load(),
		MediaSwitches: l.refusedSwitches.Load(),
		DeviceToggles: l.refusedToggles.Load(),
		ServerStats:   s.server.Stats(),
	}
}

// checkLoginRate refuses a login from a client IP whose failed-login bucket is empty.
func (sess *session) checkLoginRate(now time.Time) error {
	if wait, ok := sess.svc.limits.checkFailedLogins(sess.clientKey(), now); !ok {
		return protocol.RateLimited(protocol.LimitFailedLogins, wait)
	}
	return nil
}

// loginFailed takes a token from the client IP's failed-login bucket.
func (sess *session) loginFailed(now time.Time) {
	sess.svc.limits.failedLogins.get(sess.clientKey(), now, true).AllowN(now, 1)
}

// checkInvitations takes n tokens (invitees) from the user's invitation bucket or
// refuses the request without taking any.
func (sess *session) checkInvitations(n int) error {
	s := sess.svc
	now := s.now()
	app, userID := sess.identity()
	key := strconv.Itoa(app) + "/" + userID // a user is (SDKAppID, userId)
	if err := take(s.limits.invitations.get(key, now, true), n, now, protocol.LimitInvitations); err != nil {
		s.limits.refusedInvitations.Add(1)
		return err
	}
	return nil
}

// checkTrickleRate takes a token from the session's trickle bucket.
func (sess *session) checkTrickleRate() error {
	l := sess.svc.limits
	return sess.takeSessionToken(&sess.trickles, rate.Limit(l.cfg.TricklesPerSecond), l.cfg.TricklesBurst,
		protocol.LimitTrickles, &l.refusedTrickles)
}

// checkMediaSwitchRate takes a token from the session's switchCallMediaType bucket.
func (sess *session) checkMediaSwitchRate() error {
	l := sess.svc.limits
	return sess.takeSessionToken(&sess.switches, rate.Limit(float64(l.cfg.MediaSwitchesPerMinute)/60), l.cfg.MediaSwitchesBurst,
		protocol.LimitMediaSwitches, &l.refusedSwitches)
}

// checkDeviceToggleRate takes a token from the session's camera/microphone bucket.
func (sess *session) checkDeviceToggleRate() error {
	l := sess.svc.limits
	return sess.takeSessionToken(&sess.toggles, rate.Limit(float64(l.cfg.DeviceTogglesPerMinute)/60), l.cfg.DeviceTogglesBurst,
		protocol.LimitDeviceToggles, &l.refusedToggles)
}

// takeSessionToken takes a token from the session's bucket *b (made on first use, under
// sess.mu) or counts the refusal and returns the 6001 error of limit.
func (sess *session) takeSessionToken(b **rate.Limiter, r rate.Limit, burst int, limit string, refused *atomic.Uint64) error {
	sess.mu.Lock()
	if *b == nil {
		*b = rate.NewLimiter(r, burst)
	}
	bucket := *b
	sess.mu.Unlock()
	if err := take(bucket, 1, sess.svc.now(), limit); err != nil {
		refused.Add(1)
		return err
	}
	return nil
}

// checkFailedLogins refuses a client (key: clientKeyOf) whose failed-login bucket is
// empty, with the wait until a token refills (WHIP and WHEP POSTs; checkLoginRate is the
// WebSocket login's).
func (l *limiters) checkFailedLogins(key string, now time.Time) (time.Duration, bool) {
	b := l.failedLogins.get(key, now, false)
	if b == nil {
		return 0, true
	}
	if tokens := b.TokensAt(now); tokens < 1 {
		l.refusedLogins.Add(1)
		return time.Duration((1 - tokens) / float64(b.Limit()) * float64(time.Second)), false
	}
	return 0, true
}

// take takes n tokens from b at now, or none and returns the 6001 error of limit.
func take(b *rate.Limiter, n int, now time.Time, limit string) error {
	r := b.ReserveN(now, n)
	if !r.OK() {
		return protocol.RateLimited(limit, time.Minute)
	}
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return protocol.RateLimited(limit, wait)
	}
	return nil
}

// clientKey is the bucket key of the session's client: its IP address from the TCP
// connection, or its /64 for IPv6 (one host usually holds a whole /64).
func (sess *session) clientKey() string {
	sess.mu.Lock()
	conn := sess.conn
	sess.mu.Unlock()
	if conn == nil {
		return ""
	}
	return clientKeyOf(conn.RemoteAddr())
}

// clientKeyOf is the bucket key of a client at remote ("ip:port"): the IP, or its /64
// for IPv6.
func clientKeyOf(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return remote
	}
	addr := ap.Addr().Unmap()
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64)
		return p.String()
	}
	return addr.String()
}

// Bounds of keyedBuckets: a sweep forgets the full buckets once the map holds
// sweepAtLeast keys (or twice as many as after the last sweep); beyond maxBucketKeys
// live buckets new keys share one overflow bucket.
const (
	sweepAtLeast  = 1024
	maxBucketKeys = 100_000
)

// keyedBuckets is one token bucket per key, made on first use. A bucket that has
// refilled completely equals a new one, so sweeps forget those and memory follows the
// keys that were limited recently.
type keyedBuckets struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	sweepAt  int
	overflow *rate.Limiter
}

func newKeyedBuckets(limit rate.Limit, burst int) *keyedBuckets {
	return &keyedBuckets{
		limit: limit, burst: burst,
		buckets:  make(map[string]*rate.Limiter),
		sweepAt:  sweepAtLeast,
		overflow: rate.NewLimiter(limit, burst),
	}
}

// get returns key's bucket (the overflow bucket when the map is full); without create,
// nil when key has none.
func (k *keyedBuckets) get(key string, now time.Time, create bool) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		return b
	}
	if !create {
		if len(k.buckets) >= maxBucketKeys {
			return k.overflow
		}
		return nil
	}
	if len(k.buckets) >= k.sweepAt {
		for key, b := range k.buckets {
			if b.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, key)
			}
		}
		k.sweepAt = max(sweepAtLeast, 2*len(k.buckets))
	}
	if len(k.buckets) >= maxBucketKeys {
		return k.overflow
	}
	b := rate.NewLimiter(k.limit, k.burst)
	k.buckets[key] = b
	return b
}

// len is the number of keys with a bucket.
func (k *keyedBuckets) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// mediaError is the wire error of a failed offer, answer or trickle: 4010 for too many
// ICE candidates, 4002 when the participant left its room while the request ran (D152),
// else 4004 naming field (a denied candidate address included).
func mediaError(err error, field string) error {
	if perr := (*protocol.Error)(nil); errors.As(err, &perr) {
		return perr // a cluster error of a room on another node (5002)
	}
	if errors.Is(err, sfu.ErrTooManyCandidates) {
		return protocol.FieldError(protocol.CodeTooManyCandidates, field, err.Error())
	}
	if errors.Is(err, room.ErrParticipantLeft) {
		// The room was left while the request ran (its call ended): as for a request
		// that came after the leave, not a fault of the SDP.
		return protocol.NewError(protocol.CodeNotInRoom, err.Error())
	}
	return protocol.FieldError(protocol.CodeNegotiationFailed, field, err.Error())
}

// remoteViewError maps room.ErrTooManyRemoteViews to 4009; other errors pass.
func remoteViewError(err error) error {
	if errors.Is(err, room.ErrTooManyRemoteViews) {
		return protocol.FieldError(protocol.CodeTooManyRemoteViews, "userId", err.Error())
	}
	return err
}
