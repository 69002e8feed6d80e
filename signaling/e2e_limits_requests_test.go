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
	inRoomOnly := func(c *client.Conn) { must(t, joinRoomGranted(ctx, t, c, room(c))) }
	tests := []struct {
		name    string
		limit   string
		perUser bool
		refused func(signaling.LimitStats) uint64
		setup   func(c *client.Conn) // before the requests
		req     func(c *client.Conn, i int) error
		other   func(c *client.Conn) error // another limit's method
	}{
		{
			name: "profile writes", limit: protocol.LimitProfileWrites, perUser: true,
			refused: func(s signaling.LimitStats) uint64 { return s.ProfileWrites },
			setup:   func(*client.Conn) {},
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
			setup:   func(*client.Conn) {},
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
			setup:   func(*client.Conn) {},
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
			tc.setup(mallory)
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
			tc.setup(victim)
			if err := tc.req(victim, 0); err != nil {
				t.Fatalf("another user's request: %v", err)
			}
			// A new session of the user (it kicks the old one: multi-device is off).
			again := st.login(t, mallory.UserID())
			tc.setup(again)
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
		tc.setup(c)
		if err := tc.req(c, 0); err != nil {
			t.Fatalf("%s after the refill: %v", tc.name, err)
		}
	}
}
