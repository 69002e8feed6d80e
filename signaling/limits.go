package signaling

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/parley-rtc/parley/internal/keyedrate"
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
	// with a valid userSig, is refused until a token refills; a resume excepted (D193).
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
	// ProfileWritesPerMinute and ProfileWritesBurst bound setSelfInfo and
	// enableMultiDeviceAbility per user (D180): each is a write to the profile store
	// (Redis in a cluster).
	ProfileWritesPerMinute int `mapstructure:"profile_writes_per_minute"`
	ProfileWritesBurst     int `mapstructure:"profile_writes_burst"`
	// RecordRequestsPerMinute and RecordRequestsBurst bound queryRecentCalls and
	// deleteRecordCalls per user (D181): each is a query of the record store (up to 1000
	// rows) or a delete in it.
	RecordRequestsPerMinute int `mapstructure:"record_requests_per_minute"`
	RecordRequestsBurst     int `mapstructure:"record_requests_burst"`
	// NegotiationsPerMinute and NegotiationsBurst bound offer, startRemoteView and
	// stopRemoteView per session (D182): each is PeerConnection work (an offer applied
	// and answered, a subscription that renegotiates the subscriber PeerConnection).
	NegotiationsPerMinute int `mapstructure:"negotiations_per_minute"`
	NegotiationsBurst     int `mapstructure:"negotiations_burst"`
	// RoomJoinsPerMinute and RoomJoinsBurst bound joinRoom, join and joinInGroupCall per
	// session (D182): each entry is an event to everyone in the room and new
	// PeerConnections, so a join/leave loop would flood the room.
	RoomJoinsPerMinute int `mapstructure:"room_joins_per_minute"`
	RoomJoinsBurst     int `mapstructure:"room_joins_burst"`
	// LoginsPerMinute and LoginsBurst bound the logins per user (D193) whose userSig
	// verified: each reads the stored profile (Redis in a cluster), may kick the user's
	// other sessions and builds session state. A resume (login with the resumeToken of
	// a session waiting for it) takes no token and is never refused.
	LoginsPerMinute int `mapstructure:"logins_per_minute"`
	LoginsBurst     int `mapstructure:"logins_burst"`
	// ConnectionLoginsPerMinute and ConnectionLoginsBurst bound the logins on one
	// WebSocket connection (D193): a login/logout loop on one socket, whatever the users.
	// A resume takes no token here either.
	ConnectionLoginsPerMinute int `mapstructure:"connection_logins_per_minute"`
	ConnectionLoginsBurst     int `mapstructure:"connection_logins_burst"`
}

// DefaultLimitsConfig returns the defaults: 10 failed logins a minute per IP (burst 20),
// 60 invitees a minute per user (burst 64), 50 trickles a second per session (burst 100),
// 30 media type switches a minute per session (burst 10), 120 camera/microphone toggles a
// minute per session (burst 20), 60 profile writes a minute per user (burst 60), 120
// record queries/deletes a minute per user (burst 60), 240 negotiations a minute per
// session (burst 100), 60 room entries a minute per session (burst 20), 60 logins a minute
// per user (burst 60) and 10 a minute per connection (burst 10).
func DefaultLimitsConfig() LimitsConfig {
	return LimitsConfig{
		FailedLoginsPerMinute:     10,
		FailedLoginsBurst:         20,
		InvitationsPerMinute:      60,
		InvitationsBurst:          64,
		TricklesPerSecond:         50,
		TricklesBurst:             100,
		MediaSwitchesPerMinute:    30,
		MediaSwitchesBurst:        10,
		DeviceTogglesPerMinute:    120,
		DeviceTogglesBurst:        20,
		ProfileWritesPerMinute:    60,
		ProfileWritesBurst:        60,
		RecordRequestsPerMinute:   120,
		RecordRequestsBurst:       60,
		NegotiationsPerMinute:     240,
		NegotiationsBurst:         100,
		RoomJoinsPerMinute:        60,
		RoomJoinsBurst:            20,
		LoginsPerMinute:           60,
		LoginsBurst:               60,
		ConnectionLoginsPerMinute: 10,
		ConnectionLoginsBurst:     10,
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
	check("profile_writes_per_minute", c.ProfileWritesPerMinute, 1, 100_000)
	check("profile_writes_burst", c.ProfileWritesBurst, 1, 100_000)
	check("record_requests_per_minute", c.RecordRequestsPerMinute, 1, 100_000)
	check("record_requests_burst", c.RecordRequestsBurst, 1, 100_000)
	check("negotiations_per_minute", c.NegotiationsPerMinute, 1, 100_000)
	check("negotiations_burst", c.NegotiationsBurst, 1, 100_000)
	check("room_joins_per_minute", c.RoomJoinsPerMinute, 1, 100_000)
	check("room_joins_burst", c.RoomJoinsBurst, 1, 100_000)
	check("logins_per_minute", c.LoginsPerMinute, 1, 100_000)
	check("logins_burst", c.LoginsBurst, 1, 100_000)
	check("connection_logins_per_minute", c.ConnectionLoginsPerMinute, 1, 100_000)
	check("connection_logins_burst", c.ConnectionLoginsBurst, 1, 100_000)
	return errors.Join(errs...)
}

// limiters holds the Service's rate limits and counts what they refuse.
type limiters struct {
	cfg            LimitsConfig
	failedLogins   *keyedrate.Buckets[string] // by client IP
	invitations    *keyedrate.Buckets[string] // by user (userKey)
	profileWrites  *keyedrate.Buckets[string] // by user
	recordRequests *keyedrate.Buckets[string] // by user
	logins         *keyedrate.Buckets[string] // by user (D193)

	refusedLogins, refusedInvitations, refusedProfileWrites, refusedRecordRequests atomic.Uint64
	refusedUserLogins, refusedConnLogins                                           atomic.Uint64
	refusedSession                                                                 [numSessionLimits]atomic.Uint64
}

func newLimiters(cfg LimitsConfig) *limiters {
	return &limiters{
		cfg:            cfg,
		failedLogins:   keyedrate.New[string](perMinute(cfg.FailedLoginsPerMinute), cfg.FailedLoginsBurst),
		invitations:    keyedrate.New[string](perMinute(cfg.InvitationsPerMinute), cfg.InvitationsBurst),
		profileWrites:  keyedrate.New[string](perMinute(cfg.ProfileWritesPerMinute), cfg.ProfileWritesBurst),
		recordRequests: keyedrate.New[string](perMinute(cfg.RecordRequestsPerMinute), cfg.RecordRequestsBurst),
		logins:         keyedrate.New[string](perMinute(cfg.LoginsPerMinute), cfg.LoginsBurst),
	}
}

// perMinute is the rate of n tokens a minute.
func perMinute(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// LimitStats counts what the limits of the Service refused and how its connections
// pushed back on pipelining clients (ops/metrics exposes them).
type LimitStats struct {
	// FailedLogins, Invitations, Trickles, MediaSwitches, DeviceToggles, ProfileWrites,
	// RecordRequests, Negotiations, RoomJoins, Logins, ConnectionLogins: requests refused
	// with 6001, by limit.
	FailedLogins, Invitations, Trickles, MediaSwitches, DeviceToggles uint64
	ProfileWrites, RecordRequests, Negotiations, RoomJoins            uint64
	Logins, ConnectionLogins                                          uint64
	ServerStats
}

// LimitStats returns the refusal counters. Refused ICE candidates are counted by the
// sfu.Engine, refused remote-view wishes by the room.Manager.
func (s *Service) LimitStats() LimitStats {
	l := s.limits
	return LimitStats{
		FailedLogins:     l.refusedLogins.Load(),
		Invitations:      l.refusedInvitations.Load(),
		Trickles:         l.refusedSession[limitTrickles].Load(),
		MediaSwitches:    l.refusedSession[limitMediaSwitches].Load(),
		DeviceToggles:    l.refusedSession[limitDeviceToggles].Load(),
		ProfileWrites:    l.refusedProfileWrites.Load(),
		RecordRequests:   l.refusedRecordRequests.Load(),
		Negotiations:     l.refusedSession[limitNegotiations].Load(),
		RoomJoins:        l.refusedSession[limitRoomJoins].Load(),
		Logins:           l.refusedUserLogins.Load(),
		ConnectionLogins: l.refusedConnLogins.Load(),
		ServerStats:      s.server.Stats(),
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
	sess.svc.limits.failedLogins.Get(sess.clientKey(), now, true).AllowN(now, 1)
}

// takeLogin takes a token of the connection's login bucket, then one of the user's
// (app, userID) (D193), or counts the refusal and returns the 6001 error of the limit
// met. A resume does not come here (login).
func (sess *session) takeLogin(app int, userID string, now time.Time) error {
	l := sess.svc.limits
	sess.mu.Lock()
	cs := sess.adapter
	sess.mu.Unlock()
	if cs != nil {
		if err := take(cs.logins, 1, now, protocol.LimitConnLogins); err != nil {
			l.refusedConnLogins.Add(1)
			return err
		}
	}
	if err := take(l.logins.Get(strconv.Itoa(app)+"/"+userID, now, true), 1, now, protocol.LimitLogins); err != nil {
		l.refusedUserLogins.Add(1)
		return err
	}
	return nil
}

// checkInvitations takes n tokens (invitees) from the user's invitation bucket or
// refuses the request without taking any.
func (sess *session) checkInvitations(n int) error {
	l := sess.svc.limits
	return sess.takeUserTokens(l.invitations, n, protocol.LimitInvitations, &l.refusedInvitations)
}

// checkProfileWriteRate takes a token from the user's profile-write bucket (D180).
func (sess *session) checkProfileWriteRate() error {
	l := sess.svc.limits
	return sess.takeUserTokens(l.profileWrites, 1, protocol.LimitProfileWrites, &l.refusedProfileWrites)
}

// checkRecordRequestRate takes a token from the user's record-request bucket (D181).
func (sess *session) checkRecordRequestRate() error {
	l := sess.svc.limits
	return sess.takeUserTokens(l.recordRequests, 1, protocol.LimitRecordRequests, &l.refusedRecordRequests)
}

// takeUserTokens takes n tokens from the bucket of the session's user in buckets, or
// counts the refusal and returns the 6001 error of limit without taking any. A user is
// (SDKAppID, userId): its sessions share the bucket, and a new login does not refill it.
func (sess *session) takeUserTokens(buckets *keyedrate.Buckets[string], n int, limit string, refused *atomic.Uint64) error {
	now := sess.svc.now()
	app, userID := sess.identity()
	if err := take(buckets.Get(strconv.Itoa(app)+"/"+userID, now, true), n, now, limit); err != nil {
		refused.Add(1)
		return err
	}
	return nil
}

// sessionLimit is one of the per-session rate limits; session.buckets holds its bucket.
type sessionLimit int

const (
	limitTrickles      sessionLimit = iota // trickle
	limitMediaSwitches                     // switchCallMediaType
	limitDeviceToggles                     // openCamera, closeCamera, openMicrophone, closeMicrophone
	limitNegotiations                      // offer, startRemoteView, stopRemoteView (D182)
	limitRoomJoins                         // joinRoom, join, joinInGroupCall (D182)
	numSessionLimits
)

// sessionLimitNames are the names of the per-session limits in 6001 errors.
var sessionLimitNames = [numSessionLimits]string{
	protocol.LimitTrickles, protocol.LimitMediaSwitches, protocol.LimitDeviceToggles,
	protocol.LimitNegotiations, protocol.LimitRoomJoins,
}

// sessionRate is the refill rate and burst of the per-session limit k.
func (c LimitsConfig) sessionRate(k sessionLimit) (rate.Limit, int) {
	switch k {
	case limitTrickles:
		return rate.Limit(c.TricklesPerSecond), c.TricklesBurst
	case limitMediaSwitches:
		return perMinute(c.MediaSwitchesPerMinute), c.MediaSwitchesBurst
	case limitDeviceToggles:
		return perMinute(c.DeviceTogglesPerMinute), c.DeviceTogglesBurst
	case limitNegotiations:
		return perMinute(c.NegotiationsPerMinute), c.NegotiationsBurst
	default:
		return perMinute(c.RoomJoinsPerMinute), c.RoomJoinsBurst
	}
}

// checkRate takes a token from the session's bucket of limit k (made on first use, under
// sess.mu) or counts the refusal and returns the 6001 error naming k.
func (sess *session) checkRate(k sessionLimit) error {
	l := sess.svc.limits
	sess.mu.Lock()
	b := sess.buckets[k]
	if b == nil {
		b = rate.NewLimiter(l.cfg.sessionRate(k))
		sess.buckets[k] = b
	}
	sess.mu.Unlock()
	if err := take(b, 1, sess.svc.now(), sessionLimitNames[k]); err != nil {
		l.refusedSession[k].Add(1)
		return err
	}
	return nil
}

// checkFailedLogins refuses a client (key: ClientKeyOf) whose failed-login bucket is
// empty, with the wait until a token refills (WHIP and WHEP POSTs; checkLoginRate is the
// WebSocket login's).
func (l *limiters) checkFailedLogins(key string, now time.Time) (time.Duration, bool) {
	b := l.failedLogins.Get(key, now, false)
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
	return ClientKeyOf(conn.RemoteAddr())
}

// ClientKeyOf is the bucket key of a client at remote ("ip:port", as
// http.Request.RemoteAddr): the IP, or its /64 for IPv6. Signaling's per-IP limits and
// the /metrics scrape limit (ops/metrics, D331) share it.
func ClientKeyOf(remote string) string {
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
