package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// healthyCall is a 1v1 video call with audio and video both ways that must keep working
// while other clients cross a limit.
type healthyCall struct {
	a, b *client.Conn
}

// healthyCall sets up the call between prefix+"alice" and prefix+"bob" and waits until
// each receives the other's audio and video.
func (st *stack) healthyCall(t *testing.T, prefix string) *healthyCall {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	a, b := st.login(t, prefix+"alice"), st.login(t, prefix+"bob")
	if _, err := a.Call(ctx, b.UserID(), protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, b, protocol.EventCallReceived, nil)
	accepted(t, a, b)
	for _, c := range []*client.Conn{a, b} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	must(t, a.StartRemoteView(ctx, b.UserID(), protocol.VideoQuality{}))
	must(t, b.StartRemoteView(ctx, a.UserID(), protocol.VideoQuality{}))
	h := &healthyCall{a: a, b: b}
	h.check(t)
	return h
}

// newLimitStack is newStack with opts and a healthyCall named by prefix.
func newLimitStack(t *testing.T, prefix string, opts ...stackOption) (*stack, *healthyCall) {
	t.Helper()
	st := newStack(t, opts...)
	return st, st.healthyCall(t, prefix)
}

// check asserts that media keeps flowing both ways (25 more packets of each track) and
// that events keep coming (a microphone off and on reaches the other side).
func (h *healthyCall) check(t *testing.T) {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	for _, pair := range [][2]*client.Conn{{h.a, h.b}, {h.b, h.a}} {
		me, other := pair[0], pair[1]
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			tr, err := me.WaitRemoteTrack(ctx, other.UserID(), kind, packetsOf(me, other.UserID(), kind)+25)
			if err != nil {
				t.Fatalf("%s: %s of %s stopped: %v", me.UserID(), kind, other.UserID(), err)
			}
			if tr.PayloadErrors != 0 {
				t.Fatalf("%s: %s of %s has %d corrupted payloads", me.UserID(), kind, other.UserID(), tr.PayloadErrors)
			}
		}
	}
	must(t, h.a.CloseMicrophone(ctx))
	sawAudio(t, h.b, h.a.UserID(), false)
	must(t, h.a.OpenMicrophone(ctx))
	sawAudio(t, h.b, h.a.UserID(), true)
}

// packetsOf is how many packets of publisher's kind tracks c has received.
func packetsOf(c *client.Conn, publisher string, kind webrtc.RTPCodecType) uint64 {
	var n uint64
	for _, tr := range c.RemoteTracks(publisher) {
		if tr.Kind == kind {
			n += tr.Packets
		}
	}
	return n
}

// hostCandidate is a trickle candidate for ip:port.
func hostCandidate(ip string, port int) protocol.ICECandidate {
	mid, index := "0", uint16(0)
	return protocol.ICECandidate{
		Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 %s %d typ host", port, ip, port),
		SDPMid:    &mid, SDPMLineIndex: &index,
	}
}

// trickle sends one candidate for target and returns the request's error.
func trickle(t *testing.T, c *client.Conn, target protocol.Target, cand protocol.ICECandidate) error {
	t.Helper()
	return c.Request(ctxT(t, 10*time.Second), protocol.MethodTrickle, protocol.TrickleParams{Target: target, Candidate: cand}, nil)
}

// wantRateLimited asserts err is 6001 for limit with a positive retryAfterMs.
func wantRateLimited(t *testing.T, err error, limit string) protocol.RateLimitData {
	t.Helper()
	perr := wantCode(t, err, protocol.CodeRateLimited)
	d, ok := perr.RateLimit()
	if !ok || d.Limit != limit || d.RetryAfterMs <= 0 {
		t.Fatalf("6001 data %+v (%v), want limit %q and a retryAfterMs", perr.Data, ok, limit)
	}
	return d
}

// wantField asserts err is code with data.field == field.
func wantField(t *testing.T, err error, code int, field string) {
	t.Helper()
	perr := wantCode(t, err, code)
	data, _ := perr.Data.(map[string]any)
	if data["field"] != field {
		t.Fatalf("error %d data %v, want field %q", code, perr.Data, field)
	}
}

// TestLimitCandidates: trickled candidates beyond rtc.max_pending_candidates (before the
// publisher offer) or rtc.max_remote_candidates get 4010, one at a link-local or metadata
// address gets 4004 naming "candidate"; the refusals are counted and a call alongside
// keeps its media and events.
func TestLimitCandidates(t *testing.T) {
	const pendingCap, totalCap = 4, 12
	st := newStackRTC(t, func(c *sfu.Config) { c.MaxPendingCandidates, c.MaxRemoteCandidates = pendingCap, totalCap })
	ctx := ctxT(t, 60*time.Second)
	healthy := st.healthyCall(t, "cand")

	queued := st.login(t, "mallory1")
	must(t, joinRoomGranted(ctx, t, queued, protocol.StrRoom("flood1")))
	for i := range pendingCap {
		must(t, trickle(t, queued, protocol.TargetPublisher, hostCandidate("127.0.0.1", 40000+i)))
	}
	wantField(t, trickle(t, queued, protocol.TargetPublisher, hostCandidate("127.0.0.1", 40100)), protocol.CodeTooManyCandidates, "candidate")
	for _, ip := range []string{"169.254.169.254", "fe80::1", "fd00:ec2::254"} {
		wantField(t, trickle(t, queued, protocol.TargetSubscriber, hostCandidate(ip, 40200)), protocol.CodeNegotiationFailed, "candidate")
	}

	flooder := st.login(t, "mallory2")
	must(t, joinRoomGranted(ctx, t, flooder, protocol.StrRoom("flood2")))
	if err := flooder.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
		t.Fatal(err)
	}
	// Its publisher's description is applied: every candidate counts against the total.
	refused := false
	for i := 0; i <= totalCap && !refused; i++ {
		if err := trickle(t, flooder, protocol.TargetPublisher, hostCandidate("127.0.0.1", 41000+i)); err != nil {
			wantField(t, err, protocol.CodeTooManyCandidates, "candidate")
			refused = true
		}
	}
	if !refused {
		t.Fatalf("%d trickled candidates taken, the cap is %d", totalCap+1, totalCap)
	}
	if got := st.engine.CandidateRefusals(); got.Pending != 1 || got.Total != 1 || got.Denied != 3 {
		t.Fatalf("refusals %+v, want 1 pending, 1 total, 3 denied", got)
	}
	healthy.check(t)
}

// TestLimitTrickles: a session that trickles faster than limits.trickles_per_second
// beyond its burst gets 6001 "trickles" with a retryAfterMs; once the bucket refilled
// (the clock moves on) it may trickle again, its session works throughout, and a call
// alongside keeps its media and events.
func TestLimitTrickles(t *testing.T) {
	const burst = 20
	st, healthy := newLimitStack(t, "trickle", func(c *signalingConfig) { c.Limits.TricklesPerSecond, c.Limits.TricklesBurst = 1, burst })
	ctx := ctxT(t, 60*time.Second)
	mallory := st.login(t, "mallory")
	must(t, joinRoomGranted(ctx, t, mallory, protocol.StrRoom("trickles")))

	var limited error
	for i := 0; i < 2*burst && limited == nil; i++ {
		err := trickle(t, mallory, protocol.TargetPublisher, protocol.ICECandidate{})
		if protocol.ErrorCode(err) == protocol.CodeRateLimited {
			limited = err
		} else if err != nil {
			t.Fatalf("trickle %d: %v", i, err)
		}
	}
	if limited == nil {
		t.Fatalf("%d trickles at once, none limited (burst %d)", 2*burst, burst)
	}
	if d := wantRateLimited(t, limited, protocol.LimitTrickles); d.RetryAfterMs > 1000 {
		t.Fatalf("retryAfterMs %d for one token a second", d.RetryAfterMs)
	}
	if _, err := mallory.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("the limited session stopped working: %v", err)
	}
	st.clock.Advance(2 * time.Second)
	must(t, trickle(t, mallory, protocol.TargetPublisher, protocol.ICECandidate{}))
	if n := st.service.LimitStats().Trickles; n != 1 {
		t.Fatalf("%d trickles counted as refused, want 1", n)
	}
	healthy.check(t)
}

// TestLimitMediaSwitches: a caller that toggles the media type faster than
// limits.media_switches_per_minute beyond its burst gets 6001 "mediaSwitches"; the other
// party got one onCallMediaTypeChanged per switch taken and no more, both sessions stay
// up, and once the bucket refilled a switch goes through again.
func TestLimitMediaSwitches(t *testing.T) {
	const burst = 4
	st, healthy := newLimitStack(t, "switch", func(c *signalingConfig) { c.Limits.MediaSwitchesPerMinute, c.Limits.MediaSwitchesBurst = 1, burst })
	ctx := ctxT(t, 60*time.Second)
	mallory, victim := st.login(t, "mallory"), st.login(t, "victim")
	if _, err := mallory.Call(ctx, victim.UserID(), protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, victim, protocol.EventCallReceived, nil)
	accepted(t, mallory, victim)

	media := []protocol.MediaType{protocol.MediaTypeAudio, protocol.MediaTypeVideo}
	taken, limited := untilRateLimited(t, 3*burst, func(i int) error { return mallory.SwitchCallMediaType(ctx, media[i%2]) })
	if limited == nil || taken != burst {
		t.Fatalf("%d switches taken before a refusal (%v), want the burst %d", taken, limited, burst)
	}
	wantRateLimited(t, limited, protocol.LimitMediaSwitches)
	waitUntil(t, ctx, "the victim to get each switch taken", func() bool {
		return victim.EventCount(protocol.EventCallMediaTypeChanged) == taken
	})
	st.clock.Advance(61 * time.Second)
	must(t, mallory.SwitchCallMediaType(ctx, media[taken%2]))
	waitUntil(t, ctx, "the switch after the refill", func() bool {
		return victim.EventCount(protocol.EventCallMediaTypeChanged) == taken+1
	})
	if n := st.service.LimitStats().MediaSwitches; n != 1 {
		t.Fatalf("%d switches counted as refused, want 1", n)
	}
	healthy.check(t)
}

// TestLimitDeviceToggles: a user that turns its microphone off and on faster than
// limits.device_toggles_per_minute beyond its burst gets 6001 "deviceToggles"; before, every
// toggle was an onUserAudioAvailable to every other user of the room without bound, enough
// to overflow their write queues (1008) and drop them. The other party got one event per
// toggle taken and no more; both calls go on, and after the refill a toggle passes again.
func TestLimitDeviceToggles(t *testing.T) {
	const burst = 4
	st, healthy := newLimitStack(t, "toggle", func(c *signalingConfig) { c.Limits.DeviceTogglesPerMinute, c.Limits.DeviceTogglesBurst = 1, burst })
	ctx := ctxT(t, 60*time.Second)
	mallory, victim := st.login(t, "mallory"), st.login(t, "victim")
	roomID := protocol.IntRoom(90)
	for _, c := range []*client.Conn{mallory, victim} {
		inRoom(t, c, roomID, client.MediaOptions{Audio: true})
	}
	sawAudio(t, victim, mallory.UserID(), true)
	before := victim.EventCount(protocol.EventUserAudioAvailable)
	toggles := []func(context.Context) error{mallory.CloseMicrophone, mallory.OpenMicrophone}
	taken, limited := untilRateLimited(t, 3*burst, func(i int) error { return toggles[i%2](ctx) })
	if limited == nil || taken != burst {
		t.Fatalf("%d toggles taken before a refusal (%v), want the burst %d", taken, limited, burst)
	}
	wantRateLimited(t, limited, protocol.LimitDeviceToggles)
	waitUntil(t, ctx, "the victim to get each toggle taken", func() bool {
		return victim.EventCount(protocol.EventUserAudioAvailable) == before+taken
	})
	st.clock.Advance(61 * time.Second)
	must(t, toggles[taken%2](ctx))
	waitUntil(t, ctx, "the toggle after the refill", func() bool {
		return victim.EventCount(protocol.EventUserAudioAvailable) == before+taken+1
	})
	if n := st.service.LimitStats().DeviceToggles; n != 1 {
		t.Fatalf("%d toggles counted as refused, want 1", n)
	}
	healthy.check(t)
}

// untilRateLimited calls do(0), do(1), … until one fails with 6001 (returned as limited)
// or max calls passed; taken counts the calls that succeeded. Any other error fails t.
func untilRateLimited(t *testing.T, max int, do func(i int) error) (taken int, limited error) {
	t.Helper()
	for i := 0; i < max && limited == nil; i++ {
		err := do(i)
		switch {
		case protocol.ErrorCode(err) == protocol.CodeRateLimited:
			limited = err
		case err != nil:
			t.Fatalf("request %d: %v", i, err)
		default:
			taken++
		}
	}
	return taken, limited
}

// TestLimitFailedLogins: after limits.failed_logins_burst failed logins from one IP,
// every login from it is refused with 6001 "failedLogins", a valid userSig included,
// until a token refilled; sessions already logged in are unaffected and a call alongside
// keeps its media and events.
func TestLimitFailedLogins(t *testing.T) {
	const burst = 3
	// The call's users log in before the limit is crossed.
	st, healthy := newLimitStack(t, "login", func(c *signalingConfig) { c.Limits.FailedLoginsPerMinute, c.Limits.FailedLoginsBurst = 1, burst })
	ctx := ctxT(t, 60*time.Second)

	mallory := st.dial(t)
	for range burst {
		_, err := mallory.Login(ctx, protocolDevApp, "mallory", sig(t, "alice", time.Hour))
		wantCode(t, err, protocol.CodeUserSigInvalid)
	}
	_, err := mallory.Login(ctx, protocolDevApp, "mallory", sig(t, "mallory", time.Hour))
	if d := wantRateLimited(t, err, protocol.LimitFailedLogins); d.RetryAfterMs > 60_000 {
		t.Fatalf("retryAfterMs %d for one token a minute", d.RetryAfterMs)
	}
	// Another client from the same IP with a valid userSig is refused too.
	_, err = st.dial(t).Login(ctx, protocolDevApp, "carol", sig(t, "carol", time.Hour))
	wantRateLimited(t, err, protocol.LimitFailedLogins)
	if _, err := healthy.a.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("a logged-in session was affected: %v", err)
	}
	healthy.check(t)

	st.clock.Advance(61 * time.Second) // one token refilled
	if _, err := mallory.Login(ctx, protocolDevApp, "mallory", sig(t, "mallory", time.Hour)); err != nil {
		t.Fatalf("login after the refill: %v", err)
	}
	if n := st.service.LimitStats().FailedLogins; n != 2 {
		t.Fatalf("%d logins counted as refused, want 2", n)
	}
}

// TestLimitInvitations: call, groupCall, calls and inviteUser take one token per
// invitee from the user's bucket; beyond limits.invitations_burst they get 6001
// "invitations" and invite nobody, until tokens refilled. A call alongside keeps its
// media and events, and another user may still invite.
func TestLimitInvitations(t *testing.T) {
	const burst = protocol.MaxInvitees // the smallest burst allowed
	st, healthy := newLimitStack(t, "invite", func(c *signalingConfig) { c.Limits.InvitationsPerMinute, c.Limits.InvitationsBurst = 1, burst })
	ctx := ctxT(t, 60*time.Second)
	mallory, victim := st.login(t, "mallory"), st.login(t, "victim")

	ghosts := make([]string, burst)
	for i := range ghosts {
		ghosts[i] = fmt.Sprintf("ghost%d", i)
	}
	if _, err := mallory.Calls(ctx, ghosts, protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatalf("a full bucket refused %d invitees: %v", burst, err)
	}
	must(t, mallory.Hangup(ctx))
	refused := []struct {
		name string
		err  func() error
	}{
		{"call", func() error {
			_, err := mallory.Call(ctx, "victim", protocol.MediaTypeAudio, protocol.CallParams{})
			return err
		}},
		{"groupCall", func() error {
			_, err := mallory.GroupCall(ctx, "g", []string{"victim"}, protocol.MediaTypeAudio, protocol.CallParams{})
			return err
		}},
		{"calls", func() error {
			_, err := mallory.Calls(ctx, []string{"victim"}, protocol.MediaTypeAudio, protocol.CallParams{})
			return err
		}},
		{"inviteUser", func() error {
			_, err := mallory.InviteUser(ctx, []string{"victim"}, protocol.CallParams{})
			return err
		}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) { wantRateLimited(t, tc.err(), protocol.LimitInvitations) })
	}
	if n := victim.EventCount(protocol.EventCallReceived); n != 0 {
		t.Fatalf("victim got %d invitations from a limited user", n)
	}
	// Another user's bucket is its own.
	if _, err := victim.Call(ctx, "ghost0", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatalf("victim's call refused: %v", err)
	}
	must(t, victim.Hangup(ctx))
	healthy.check(t)

	st.clock.Advance(61 * time.Second)
	if _, err := mallory.Call(ctx, "victim", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatalf("call after the refill: %v", err)
	}
	waitFor[protocol.CallReceivedEvent](t, victim, protocol.EventCallReceived, nil)
	if n := st.service.LimitStats().Invitations; n != uint64(len(refused)) {
		t.Fatalf("%d requests counted as refused, want %d", n, len(refused))
	}
}

// TestLimitPendingRemoteViews: startRemoteView and setRemoteViewQuality of users who are
// not in the room stop at room.max_pending_remote_views with 4009 naming "userId"; a
// wish for a user in the room still works, and so does a call alongside.
func TestLimitPendingRemoteViews(t *testing.T) {
	const limit = 4
	st, healthy := newLimitStack(t, "views", func(c *signalingConfig) { c.Room.MaxPendingRemoteViews = limit })
	ctx := ctxT(t, 60*time.Second)
	mallory, carol := st.login(t, "mallory"), st.login(t, "carol")
	inRoom(t, carol, protocol.StrRoom("wishes"), client.MediaOptions{Audio: true, Video: true})
	inRoom(t, mallory, protocol.StrRoom("wishes"), client.MediaOptions{})

	for i := range limit {
		must(t, mallory.StartRemoteView(ctx, fmt.Sprintf("ghost%d", i), protocol.VideoQuality{}))
	}
	wantField(t, mallory.StartRemoteView(ctx, "ghost-over", protocol.VideoQuality{}), protocol.CodeTooManyRemoteViews, "userId")
	wantField(t, mallory.SetRemoteViewQuality(ctx, "ghost-over", protocol.VideoQuality{Width: 320, Height: 180}), protocol.CodeTooManyRemoteViews, "userId")
	must(t, mallory.StartRemoteView(ctx, "carol", protocol.VideoQuality{}))
	if _, err := mallory.WaitRemoteTrack(ctx, "carol", webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatalf("mallory's view of carol, who is in the room: %v", err)
	}
	if n := st.service.Rooms().RemoteViewRefusals(); n != 2 {
		t.Fatalf("%d wishes counted as refused, want 2", n)
	}
	healthy.check(t)
}

// TestLoginTimeout: a socket that does not log in within signaling.login_timeout, or that
// logged out and stays at the login gate that long, is closed with 4008; logged-in
// sockets stay, and a call alongside keeps its media and events.
func TestLoginTimeout(t *testing.T) {
	const timeout = 2 * time.Second // the healthy users log in well within it, even on a busy machine
	st, healthy := newLimitStack(t, "gate", func(c *signalingConfig) { c.Signaling.LoginTimeout = timeout })
	ctx := ctxT(t, 60*time.Second)
	silent := st.raw(t)
	dave := st.login(t, "dave")
	quitter := st.login(t, "erin")
	must(t, quitter.Logout(ctx))

	_ = silent.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := silent.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !asCloseError(err, &ce) || ce.Code != signaling.CloseLoginTimeout {
			t.Fatalf("silent socket: %v, want close %d", err, signaling.CloseLoginTimeout)
		}
		break
	}
	select {
	case <-quitter.Done():
	case <-ctx.Done():
		t.Fatal("the socket that logged out was not closed")
	}
	if code, _ := quitter.CloseStatus(); code != signaling.CloseLoginTimeout {
		t.Fatalf("logged-out socket closed with %d, want %d", code, signaling.CloseLoginTimeout)
	}
	// dave logged in before erin logged out, so his socket is older than her timeout.
	if _, err := dave.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("a logged-in socket was closed: %v", err)
	}
	if n := st.service.LimitStats().LoginTimeouts; n != 2 {
		t.Fatalf("%d login timeouts counted, want 2", n)
	}
	healthy.check(t)
}

// TestPipelinedRequestsBackpressure: a client writes 5000 requests (each with a 2 KiB id,
// so the answers outgrow the socket buffers) without waiting for answers, and reads the
// answers at a slower pace than the server makes them. The server does not close it:
// while answers wait to be written it stops handling and then reading that connection's
// requests (TCP pushes back on the client), so the client gets all 5000 answers in order
// and stays connected; no connection ever held more than signaling.MaxPipelinedRequests
// requests. A call alongside keeps its media and events.
func TestPipelinedRequestsBackpressure(t *testing.T) {
	const requests = 5000
	st, healthy := newLimitStack(t, "pipe", func(c *signalingConfig) {
		// queryRecentCalls is the request pipelined here: its limit (D181) lifted to the most allowed.
		c.Limits.RecordRequestsPerMinute, c.Limits.RecordRequestsBurst = 100_000, 100_000
	})

	r := st.raw(t)
	ws := r.ws
	rawLogin(t, r, "piper")

	pad := strings.Repeat("p", 2048)
	request := func(i int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":"%s-%d","method":"queryRecentCalls","params":{}}`, pad, i)
	}
	var written atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		for i := 1; i <= requests; i++ {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(request(i))); err != nil {
				writeErr <- fmt.Errorf("write %d: %w", i, err)
				return
			}
			written.Add(1)
		}
		writeErr <- nil
	}()
	_ = ws.SetReadDeadline(time.Now().Add(90 * time.Second))
	for i := 1; i <= requests; {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d answers (%d requests written): %v", i-1, written.Load(), err)
		}
		var resp protocol.Response
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.ID) == 0 {
			continue // a notification
		}
		if i%2 == 0 {
			time.Sleep(time.Millisecond) // a slow reader: at most 2 answers a millisecond
		}
		if want := fmt.Sprintf("%q", pad+"-"+strconv.Itoa(i)); string(resp.ID) != want || resp.Error != nil {
			t.Fatalf("answer %d: id %.20s… error %+v", i, resp.ID, resp.Error)
		}
		i++
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if resp := r.roundTrip(request(0)); resp.Error != nil {
		t.Fatalf("after the pipeline: %+v", resp.Error)
	}
	stats := st.service.LimitStats()
	if stats.PipelineWaits == 0 {
		t.Fatal("the server never waited for the writer: nothing was pushed back")
	}
	if stats.PipelinePeak > signaling.MaxPipelinedRequests {
		t.Fatalf("a connection held %d requests, the bound is %d", stats.PipelinePeak, signaling.MaxPipelinedRequests)
	}
	t.Logf("%d answers; %d waits for the writer; at most %d requests held", requests, stats.PipelineWaits, stats.PipelinePeak)
	healthy.check(t)
}
