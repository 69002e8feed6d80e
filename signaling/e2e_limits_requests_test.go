package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// expecting returns nil for err when it is one of the protocol error codes, else err: the
// answer of a request that is expected to fail for another reason than a rate limit.
func expecting(err error, codes ...int) error {
	for _, code := range codes {
		if protocol.ErrorCode(err) == code {
			return nil
		}
	}
	return err
}

// TestLimitRequestRates: each request rate limit of D180–D182 refuses the request after
// its burst with 6001 naming the limit and a retryAfterMs of at most a minute (one token
// a minute), counts the refusal, and refills. Every method of the limit takes from the
// one bucket; another limit's method of the same user still passes, and so does the same
// request of another user. A per-user limit follows the user into a new session (a new
// login does not refill it); a per-session limit does not.
func TestLimitRequestRates(t *testing.T) {
	const burst = 3
	st := newStack(t, func(c *signalingConfig) {
		l := &c.Limits
		l.ProfileWritesPerMinute, l.ProfileWritesBurst = 1, burst
		l.RecordRequestsPerMinute, l.RecordRequestsBurst = 1, burst
		l.NegotiationsPerMinute, l.NegotiationsBurst = 1, burst
		l.RoomJoinsPerMinute, l.RoomJoinsBurst = 1, burst
	})
	ctx := ctxT(t, 2*time.Minute)
	room := func(c *client.Conn) protocol.RoomID { return protocol.StrRoom("limits-" + c.UserID()) }
	inRoomOnly := func(t *testing.T, c *client.Conn) { must(t, joinRoomGranted(ctx, t, c, room(c))) }
	tests := []struct {
		name    string
		limit   string
		perUser bool
		refused func(signaling.LimitStats) uint64
		setup   func(t *testing.T, c *client.Conn) // before the requests (t: the subtest's)
		req     func(c *client.Conn, i int) error
		other   func(c *client.Conn) error // another limit's method
	}{
		{
			name: "profile writes", limit: protocol.LimitProfileWrites, perUser: true,
			refused: func(s signaling.LimitStats) uint64 { return s.ProfileWrites },
			setup:   func(*testing.T, *client.Conn) {},
			req: func(c *client.Conn, i int) error {
				if i%2 == 0 {
					return c.SetSelfInfo(ctx, fmt.Sprint("nick", i), "")
				}
				return c.EnableMultiDeviceAbility(ctx, true)
			},
			other: func(c *client.Conn) error {
				_, err := c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
				return err
			},
		},
		{
			name: "record requests", limit: protocol.LimitRecordRequests, perUser: true,
			refused: func(s signaling.LimitStats) uint64 { return s.RecordRequests },
			setup:   func(*testing.T, *client.Conn) {},
			req: func(c *client.Conn, i int) error {
				if i%2 == 0 {
					_, err := c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
					return err
				}
				_, err := c.DeleteRecordCalls(ctx, []string{"no-such-call"})
				return err
			},
			other: func(c *client.Conn) error { return c.SetSelfInfo(ctx, "other", "") },
		},
		{
			name: "negotiations", limit: protocol.LimitNegotiations,
			refused: func(s signaling.LimitStats) uint64 { return s.Negotiations },
			setup:   inRoomOnly,
			req: func(c *client.Conn, i int) error {
				switch i % 3 {
				case 0:
					return c.StartRemoteView(ctx, "ghost", protocol.VideoQuality{})
				case 1:
					return c.StopRemoteView(ctx, "ghost")
				}
				bad := protocol.OfferParams{Target: protocol.TargetPublisher, SDP: protocol.SessionDescription{Type: "offer", SDP: "v=0\r\n"}}
				return expecting(c.Request(ctx, protocol.MethodOffer, bad, nil), protocol.CodeNegotiationFailed)
			},
			other: func(c *client.Conn) error { return c.CloseMicrophone(ctx) },
		},
		{
			name: "room joins", limit: protocol.LimitRoomJoins,
			refused: func(s signaling.LimitStats) uint64 { return s.RoomJoins },
			setup:   func(*testing.T, *client.Conn) {},
			req: func(c *client.Conn, i int) error {
				switch i % 3 {
				case 0:
					_, err := c.Join(ctx, "no-such-call")
					return expecting(err, protocol.CodeNoSuchCall)
				case 1:
					_, err := c.JoinInGroupCall(ctx, protocol.IntRoom(4711), "no-such-group", protocol.MediaTypeAudio)
					return expecting(err, protocol.CodeNoSuchCall)
				}
				if err := joinRoomGranted(ctx, t, c, room(c)); err != nil {
					return err
				}
				return c.LeaveRoom(ctx)
			},
			other: func(c *client.Conn) error { return c.SetSelfInfo(ctx, "other", "") },
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mallory, victim := st.login(t, fmt.Sprint("mallory", i)), st.login(t, fmt.Sprint("victim", i))
			tc.setup(t, mallory)
			taken, limited := untilRateLimited(t, 3*burst, func(j int) error { return tc.req(mallory, j) })
			if limited == nil || taken != burst {
				t.Fatalf("%d requests taken before a refusal (%v), want the burst %d", taken, limited, burst)
			}
			if d := wantRateLimited(t, limited, tc.limit); d.RetryAfterMs > 60_000 {
				t.Fatalf("retryAfterMs %d for one token a minute", d.RetryAfterMs)
			}
			if err := tc.other(mallory); err != nil {
				t.Fatalf("another limit's request of the limited user: %v", err)
			}
			tc.setup(t, victim)
			if err := tc.req(victim, 0); err != nil {
				t.Fatalf("another user's request: %v", err)
			}
			// A new session of the user (it kicks the old one: multi-device is off).
			again := st.login(t, mallory.UserID())
			tc.setup(t, again)
			if err := tc.req(again, 0); tc.perUser {
				wantRateLimited(t, err, tc.limit)
			} else if err != nil {
				t.Fatalf("a new session's request under a per-session limit: %v", err)
			}
			if n, want := tc.refused(st.service.LimitStats()), map[bool]uint64{true: 2, false: 1}[tc.perUser]; n != want {
				t.Fatalf("%d requests counted as refused, want %d", n, want)
			}
		})
	}
	// After a minute every bucket has a token again.
	st.clock.Advance(61 * time.Second)
	for i, tc := range tests {
		c := st.login(t, fmt.Sprint("mallory", i))
		tc.setup(t, c)
		if err := tc.req(c, 0); err != nil {
			t.Fatalf("%s after the refill: %v", tc.name, err)
		}
	}
}

// TestLimitLoginRates: the login limits of D193 refuse a login after their burst with
// 6001 naming the limit and a retryAfterMs of at most a minute, count it, leave other
// keys alone and refill. `logins` is per user over all its connections; `connectionLogins`
// is per socket, whatever the users (a login/logout loop). A resume is never refused, even
// with both buckets empty; a login with a resumeToken that resumes nothing, or a renewal,
// is a login like any other. Nor does the failed-login gate of the client IP refuse a
// resume (an office behind one NAT keeps its calls when one client there sends bad
// userSigs).
func TestLimitLoginRates(t *testing.T) {
	const burst = 3
	st := newStack(t, func(c *signalingConfig) {
		l := &c.Limits
		l.LoginsPerMinute, l.LoginsBurst = 1, burst
		l.ConnectionLoginsPerMinute, l.ConnectionLoginsBurst = 1, burst
		l.FailedLoginsPerMinute, l.FailedLoginsBurst = 1, 1
	})
	ctx := ctxT(t, time.Minute)
	login := func(c *client.Conn, user string) error {
		_, err := c.Login(ctx, signaling.DevSDKAppID, user, sig(t, user, time.Hour))
		return err
	}
	var lastOfUser *client.Conn // the last session the per-user case logged in
	loopConn := st.dial(t)      // the socket the per-connection case loops on
	tests := []struct {
		name    string
		limit   string
		refused func(signaling.LimitStats) uint64
		attempt func(i int) error
		other   func() error // another key: another user, another socket
	}{
		{
			name: "per user", limit: protocol.LimitLogins,
			refused: func(s signaling.LimitStats) uint64 { return s.Logins },
			attempt: func(int) error {
				c := st.dial(t) // each on its own socket: the connection buckets stay full
				err := login(c, "lluser")
				if err == nil {
					lastOfUser = c
				}
				return err
			},
			other: func() error { return login(st.dial(t), "llother") },
		},
		{
			name: "per connection", limit: protocol.LimitConnLogins,
			refused: func(s signaling.LimitStats) uint64 { return s.ConnectionLogins },
			attempt: func(i int) error {
				if err := login(loopConn, fmt.Sprint("llloop", i)); err != nil {
					return err
				}
				return loopConn.Logout(ctx)
			},
			other: func() error { return login(st.dial(t), "llloop-other") },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			taken, limited := untilRateLimited(t, 3*burst, tc.attempt)
			if limited == nil || taken != burst {
				t.Fatalf("%d logins before a refusal (%v), want the burst %d", taken, limited, burst)
			}
			if d := wantRateLimited(t, limited, tc.limit); d.RetryAfterMs > 60_000 {
				t.Fatalf("retryAfterMs %d for one token a minute", d.RetryAfterMs)
			}
			if err := tc.other(); err != nil {
				t.Fatalf("a login of another key: %v", err)
			}
			if n := tc.refused(st.service.LimitStats()); n != 1 {
				t.Fatalf("%d logins counted as refused, want 1", n)
			}
		})
	}
	if t.Failed() {
		return
	}

	// The user's bucket and loopConn's are empty: a resume on loopConn passes all the same.
	before := st.service.LimitStats()
	res, _ := lastOfUser.LoginResult()
	_ = lastOfUser.Close() // the socket drops
	wantRateLimited(t, login(st.dial(t), "lluser"), protocol.LimitLogins)
	bogus := st.dial(t)
	_, err := bogus.Resume(ctx, signaling.DevSDKAppID, "lluser", sig(t, "lluser", time.Hour), "no-such-token", lastOfUser.LastSeq())
	wantRateLimited(t, err, protocol.LimitLogins) // resumes nothing: a login
	resumed, err := loopConn.Resume(ctx, signaling.DevSDKAppID, "lluser", sig(t, "lluser", time.Hour), res.ResumeToken, lastOfUser.LastSeq())
	if err != nil {
		t.Fatalf("resume with both login buckets empty: %v", err)
	}
	if resumed.ResumeToken != res.ResumeToken {
		t.Fatalf("resume gave token %q, want the session's %q", resumed.ResumeToken, res.ResumeToken)
	}
	if err := loopConn.SetSelfInfo(ctx, "resumed", ""); err != nil {
		t.Fatalf("the resumed session: %v", err)
	}
	after := st.service.LimitStats()
	if after.Logins != before.Logins+2 || after.ConnectionLogins != before.ConnectionLogins {
		t.Fatalf("refusals %d/%d after the resume, want %d/%d (the two logins only)",
			after.Logins, after.ConnectionLogins, before.Logins+2, before.ConnectionLogins)
	}
	// A renewal on the resumed session is a login of loopConn.
	wantRateLimited(t, login(loopConn, "lluser"), protocol.LimitConnLogins)

	// After a minute both buckets have a token again: the renewal takes one of each.
	st.clock.Advance(61 * time.Second)
	if err := login(loopConn, "lluser"); err != nil {
		t.Fatalf("renewal after the refill: %v", err)
	}

	// A forged login empties 127.0.0.1's failed-login bucket: logins from there are
	// refused, the resume of loopConn's session after its socket dropped is not.
	res, _ = loopConn.LoginResult()
	_, err = st.dial(t).Login(ctx, signaling.DevSDKAppID, "llforger", "forged")
	wantCode(t, err, protocol.CodeUserSigInvalid)
	wantRateLimited(t, login(st.dial(t), "llother"), protocol.LimitFailedLogins)
	_ = loopConn.Close()
	if _, err := st.dial(t).Resume(ctx, signaling.DevSDKAppID, "lluser", sig(t, "lluser", time.Hour), res.ResumeToken, loopConn.LastSeq()); err != nil {
		t.Fatalf("resume from an IP with no failed-login token left: %v", err)
	}
}
