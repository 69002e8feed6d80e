package signaling_test

// Black-box conformance checks of the media-facing decisions of docs/decisions.md
// — D19 availability, D20 voice volume, D21 network quality, D23 rooms without calls,
// D24 subscriptions, D25 error objects of the room and media methods — against
// signaling/PROTOCOL.md, with real WebSocket clients and real PeerConnections over
// loopback. Intervals are shortened through the server configuration where the spec
// makes them configurable; everything that waits polls with generous deadlines.

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// loginPeer is st.login with PeerConnection options (impairments) for the user's media.
func (st *stack) loginPeer(t *testing.T, userID string, peer client.PeerConfig) *client.Conn {
	t.Helper()
	peer.Loopback = true
	c, err := client.Dial(ctxT(t, 10*time.Second), st.url, client.Options{Peer: peer, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Login(ctxT(t, 10*time.Second), signaling.DevSDKAppID, userID, sig(t, userID, time.Hour)); err != nil {
		t.Fatalf("login %s: %v", userID, err)
	}
	waitFor[protocol.SdkReadyEvent](t, c, protocol.EventSdkReady, nil)
	return c
}

// inRoom joins c to id and starts its media with opts.
func inRoom(t *testing.T, c *client.Conn, id protocol.RoomID, opts client.MediaOptions) {
	t.Helper()
	ctx := ctxT(t, 30*time.Second)
	must(t, joinRoomGranted(ctx, t, c, id))
	if err := c.StartMedia(ctx, opts); err != nil {
		t.Fatalf("%s: start media: %v", c.UserID(), err)
	}
}

// sawJoin waits until me heard onUserJoin(other) naming room id.
func sawJoin(t *testing.T, me *client.Conn, other string, id protocol.RoomID) {
	t.Helper()
	e := waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == other })
	if e.RoomID != id {
		t.Fatalf("%s: onUserJoin(%s) names room %s, want %s", me.UserID(), other, e.RoomID, id)
	}
}

func sawVideo(t *testing.T, me *client.Conn, other string, on bool) {
	t.Helper()
	waitFor(t, me, protocol.EventUserVideoAvailable, func(e protocol.UserVideoAvailableEvent) bool {
		return e.UserID == other && e.IsVideoAvailable == on
	})
}

func sawAudio(t *testing.T, me *client.Conn, other string, on bool) {
	t.Helper()
	waitFor(t, me, protocol.EventUserAudioAvailable, func(e protocol.UserAudioAvailableEvent) bool {
		return e.UserID == other && e.IsAudioAvailable == on
	})
}

// decoded returns the payloads of c's events called name, oldest first.
func decoded[T any](t *testing.T, c *client.Conn, name string) []T {
	t.Helper()
	var out []T
	for _, e := range c.Events() {
		if e.Name != name {
			continue
		}
		var v T
		if err := json.Unmarshal(e.Params, &v); err != nil {
			t.Fatalf("%s: %s payload %s: %v", c.UserID(), name, e.Params, err)
		}
		out = append(out, v)
	}
	return out
}

// videoPackets is how many video packets of publisher c has received (0: no video track).
func videoPackets(c *client.Conn, publisher string) uint64 {
	return trackPackets(c, publisher, webrtc.RTPCodecTypeVideo)
}

// trackPackets is how many packets of kind of publisher c has received.
func trackPackets(c *client.Conn, publisher string, kind webrtc.RTPCodecType) uint64 {
	var n uint64
	for _, tr := range c.RemoteTracks(publisher) {
		if tr.Kind == kind {
			n += tr.Packets
		}
	}
	return n
}

// noCallEvents fails when c heard any call event (PROTOCOL.md §5.2).
func noCallEvents(t *testing.T, c *client.Conn) {
	t.Helper()
	for _, e := range c.Events() {
		if callEventNames[e.Name] {
			t.Fatalf("%s: call event %s%s in a room without a call", c.UserID(), e.Name, e.Params)
		}
	}
}

// TestSpecRoomWithoutCall checks D23 (joinRoom / leaveRoom by RoomId, no call), D19
// (availability on publish, camera and microphone changes, to the others only; a
// newcomer learns the current state) and D24 (audio to everyone without asking, video
// only between startRemoteView and stopRemoteView).
func TestSpecRoomWithoutCall(t *testing.T)        { specRoomWithoutCall(t, newStack) }
func TestClusterSpecRoomWithoutCall(t *testing.T) { specRoomWithoutCall(t, newClusterStack) }

func specRoomWithoutCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "d23", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	strRoom, intRoom := protocol.StrRoom("4242"), protocol.IntRoom(4242)

	inRoom(t, alice, strRoom, client.MediaOptions{Audio: true, Video: true})
	inRoom(t, bob, strRoom, client.MediaOptions{Audio: true})
	inRoom(t, carol, strRoom, client.MediaOptions{}) // receives only
	// erin is in the integer room 4242, a different room (§4: 4242 ≠ "4242").
	inRoom(t, erin, intRoom, client.MediaOptions{Audio: true})

	for _, pair := range [][2]*client.Conn{{alice, bob}, {alice, carol}, {bob, alice}, {bob, carol}, {carol, alice}, {carol, bob}} {
		sawJoin(t, pair[0], pair[1].UserID(), strRoom)
	}
	sawAudio(t, bob, alice.UserID(), true)
	sawVideo(t, bob, alice.UserID(), true)
	sawAudio(t, carol, alice.UserID(), true)
	sawVideo(t, carol, alice.UserID(), true)
	sawAudio(t, alice, bob.UserID(), true)
	sawAudio(t, carol, bob.UserID(), true)

	t.Run("D24 audio of every publisher reaches everyone, video nobody who did not ask", func(t *testing.T) {
		for _, c := range []*client.Conn{bob, carol} {
			if _, err := c.WaitRemoteTrack(ctx, alice.UserID(), webrtc.RTPCodecTypeAudio, 25); err != nil {
				t.Fatalf("%s: %v", c.UserID(), err)
			}
		}
		for _, c := range []*client.Conn{alice, carol} {
			if _, err := c.WaitRemoteTrack(ctx, bob.UserID(), webrtc.RTPCodecTypeAudio, 25); err != nil {
				t.Fatalf("%s: %v", c.UserID(), err)
			}
		}
		for _, c := range []*client.Conn{bob, carol} {
			if n := videoPackets(c, alice.UserID()); n != 0 {
				t.Fatalf("%s received %d video packets of alice without startRemoteView", c.UserID(), n)
			}
		}
		if tracks := alice.RemoteTracks(alice.UserID()); len(tracks) != 0 {
			t.Fatalf("alice receives her own tracks: %+v", tracks)
		}
	})

	t.Run("D24 video only between startRemoteView and stopRemoteView", func(t *testing.T) {
		must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
		if _, err := bob.WaitRemoteTrack(ctx, alice.UserID(), webrtc.RTPCodecTypeVideo, 60); err != nil {
			t.Fatal(err)
		}
		if n := videoPackets(carol, alice.UserID()); n != 0 {
			t.Fatalf("carol received %d video packets of alice after bob's startRemoteView", n)
		}
		must(t, bob.StopRemoteView(ctx, alice.UserID()))
		// The video stops: the count stays put for a second (polled, generous deadline).
		stableSince, last := time.Now(), videoPackets(bob, alice.UserID())
		waitUntil(t, ctx, "bob's video of alice to stop", func() bool {
			if n := videoPackets(bob, alice.UserID()); n != last {
				stableSince, last = time.Now(), n
			}
			return time.Since(stableSince) > time.Second
		})
		// Audio goes on.
		before := alice.RemoteTracks(bob.UserID())
		audioBefore := uint64(0)
		for _, tr := range before {
			audioBefore += tr.Packets
		}
		if _, err := bob.WaitRemoteTrack(ctx, alice.UserID(), webrtc.RTPCodecTypeAudio, audioBefore+25); err != nil {
			t.Fatalf("alice's audio to bob stopped with his video: %v", err)
		}
	})

	t.Run("D19 camera and microphone changes go to the others only", func(t *testing.T) {
		must(t, alice.CloseCamera(ctx))
		sawVideo(t, bob, alice.UserID(), false)
		sawVideo(t, carol, alice.UserID(), false)
		must(t, bob.CloseMicrophone(ctx))
		sawAudio(t, alice, bob.UserID(), false)
		sawAudio(t, carol, bob.UserID(), false)
		must(t, bob.OpenMicrophone(ctx))
		sawAudio(t, alice, bob.UserID(), true)
		sawAudio(t, carol, bob.UserID(), true)
		for _, c := range []*client.Conn{alice, bob, carol} {
			for _, e := range decoded[protocol.UserVideoAvailableEvent](t, c, protocol.EventUserVideoAvailable) {
				if e.UserID == c.UserID() {
					t.Fatalf("%s heard its own video availability %+v", c.UserID(), e)
				}
			}
			for _, e := range decoded[protocol.UserAudioAvailableEvent](t, c, protocol.EventUserAudioAvailable) {
				if e.UserID == c.UserID() {
					t.Fatalf("%s heard its own audio availability %+v", c.UserID(), e)
				}
			}
		}
	})

	t.Run("D19 a newcomer learns the current availability", func(t *testing.T) {
		inRoom(t, dave, strRoom, client.MediaOptions{})
		for _, other := range []*client.Conn{alice, bob, carol} {
			sawJoin(t, dave, other.UserID(), strRoom)
			sawJoin(t, other, dave.UserID(), strRoom)
		}
		sawAudio(t, dave, alice.UserID(), true)
		sawAudio(t, dave, bob.UserID(), true)
		// alice's camera is closed: dave must not be told it is on.
		barrier(t, dave)
		for _, e := range decoded[protocol.UserVideoAvailableEvent](t, dave, protocol.EventUserVideoAvailable) {
			if e.IsVideoAvailable {
				t.Fatalf("dave was told %s's video is available while her camera is closed", e.UserID)
			}
		}
		must(t, alice.OpenCamera(ctx))
		for _, c := range []*client.Conn{bob, carol, dave} {
			sawVideo(t, c, alice.UserID(), true)
		}
	})

	t.Run("D23 leaveRoom tells the others; the room of the other kind hears nothing", func(t *testing.T) {
		must(t, bob.LeaveRoom(ctx))
		for _, c := range []*client.Conn{alice, carol, dave} {
			e := waitFor(t, c, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == bob.UserID() })
			if e.RoomID != strRoom {
				t.Fatalf("%s: onUserLeave(bob) names room %s, want %s", c.UserID(), e.RoomID, strRoom)
			}
		}
		wantCode(t, bob.LeaveRoom(ctx), protocol.CodeNotInRoom)
		for _, c := range []*client.Conn{alice, bob, carol, dave, erin} {
			noCallEvents(t, c)
		}
		for _, c := range []*client.Conn{alice, carol, dave} {
			for _, e := range decoded[protocol.UserJoinEvent](t, c, protocol.EventUserJoin) {
				if e.UserID == erin.UserID() {
					t.Fatalf("%s heard of erin, who is in the integer room 4242", c.UserID())
				}
			}
		}
		for _, e := range decoded[protocol.UserJoinEvent](t, erin, protocol.EventUserJoin) {
			t.Fatalf("erin, alone in the integer room 4242, heard %+v", e)
		}
	})
}

// TestSpecVoiceVolume checks D20: onUserVoiceVolumeChanged maps every audio publisher of
// the room — the listener included, receive-only users not — to 0..100; a silent
// publisher and a muted one are 0; an event equal to the previous one a user got is not
// sent; a user who comes in when the volumes are steady still gets the current map.
func TestSpecVoiceVolume(t *testing.T)        { specVoiceVolume(t, newStack) }
func TestClusterSpecVoiceVolume(t *testing.T) { specVoiceVolume(t, newClusterStack) }

func specVoiceVolume(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Room.VolumeInterval = 100 * time.Millisecond })
	us := st.users(t, "d20", "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	id := protocol.StrRoom("d20-room")
	inRoom(t, alice, id, client.MediaOptions{Audio: true, AudioLevel: 0, VoiceActivity: true}) // 0 dBov: 100
	inRoom(t, bob, id, client.MediaOptions{Audio: true, AudioLevel: 127})                      // digital silence: 0
	inRoom(t, carol, id, client.MediaOptions{})                                                // no audio: not in the map

	mapIs := func(want map[string]int) func(protocol.UserVoiceVolumeChangedEvent) bool {
		return func(e protocol.UserVoiceVolumeChangedEvent) bool { return maps.Equal(e.VolumeMap, want) }
	}
	loud := map[string]int{alice.UserID(): 100, bob.UserID(): 0}
	for _, c := range []*client.Conn{alice, bob, carol} {
		waitFor(t, c, protocol.EventUserVoiceVolumeChanged, mapIs(loud))
	}

	must(t, alice.CloseMicrophone(ctxT(t, 30*time.Second)))
	muted := map[string]int{alice.UserID(): 0, bob.UserID(): 0}
	for _, c := range []*client.Conn{alice, bob, carol} {
		waitFor(t, c, protocol.EventUserVoiceVolumeChanged, mapIs(muted))
	}

	// The map is steady now; a newcomer still learns it.
	inRoom(t, dave, id, client.MediaOptions{})
	waitFor(t, dave, protocol.EventUserVoiceVolumeChanged, mapIs(muted))

	// Let a few more intervals pass, then check every user's sequence.
	time.Sleep(500 * time.Millisecond)
	for _, c := range []*client.Conn{alice, bob, carol, dave} {
		got := decoded[protocol.UserVoiceVolumeChangedEvent](t, c, protocol.EventUserVoiceVolumeChanged)
		for i, e := range got {
			for user, v := range e.VolumeMap {
				if v < 0 || v > 100 {
					t.Fatalf("%s: volume of %s is %d, outside 0..100", c.UserID(), user, v)
				}
				if user != alice.UserID() && user != bob.UserID() {
					t.Fatalf("%s: volumeMap %v names %s, who publishes no audio", c.UserID(), e.VolumeMap, user)
				}
			}
			if i > 0 && maps.Equal(e.VolumeMap, got[i-1].VolumeMap) {
				t.Fatalf("%s: event #%d %v repeats the previous one", c.UserID(), i, e.VolumeMap)
			}
		}
	}
}

// TestSpecNetworkQuality checks D21: onUserNetworkQualityChanged lists every user of the
// room, self included, with 0..6; a user whose downlink loses a quarter of its packets is
// rated by that downlink although its uplink is clean (the worse of both); a connected user
// that sends no media and no RTCP for more than 5 s is 6 (Down).
func TestSpecNetworkQuality(t *testing.T)        { specNetworkQuality(t, newStack) }
func TestClusterSpecNetworkQuality(t *testing.T) { specNetworkQuality(t, newClusterStack) }

func specNetworkQuality(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Room.QualityInterval = 500 * time.Millisecond })
	ctx := ctxT(t, 90*time.Second)
	link := &client.LinkSwitch{}
	alice := st.loginPeer(t, "d21alice", client.PeerConfig{Link: link})
	bob := st.loginPeer(t, "d21bob", client.PeerConfig{UnrepairedLoss: 0.25})
	carol := st.login(t, "d21carol")
	id := protocol.IntRoom(2121)
	inRoom(t, alice, id, client.MediaOptions{Audio: true, Video: true})
	inRoom(t, bob, id, client.MediaOptions{Audio: true})
	inRoom(t, carol, id, client.MediaOptions{})
	must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
	must(t, carol.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
	everyone := []string{alice.UserID(), bob.UserID(), carol.UserID()}

	qualityOf := func(e protocol.UserNetworkQualityChangedEvent) map[string]protocol.NetworkQuality {
		m := map[string]protocol.NetworkQuality{}
		for _, q := range e.NetworkQualityList {
			m[q.UserID] = q.Quality
		}
		return m
	}
	listsEveryone := func(e protocol.UserNetworkQualityChangedEvent) bool {
		users := make([]string, 0, len(e.NetworkQualityList))
		for _, q := range e.NetworkQualityList {
			users = append(users, q.UserID)
		}
		slices.Sort(users)
		want := slices.Clone(everyone)
		slices.Sort(want)
		return slices.Equal(users, want)
	}
	for _, c := range []*client.Conn{alice, bob, carol} {
		e := waitFor(t, c, protocol.EventUserNetworkQualityChanged, func(e protocol.UserNetworkQualityChangedEvent) bool {
			q := qualityOf(e)
			return listsEveryone(e) && q[alice.UserID()] >= 1 && q[alice.UserID()] <= 2 &&
				q[bob.UserID()] >= 4 && q[bob.UserID()] <= 5 && q[carol.UserID()] >= 1 && q[carol.UserID()] <= 2
		})
		t.Logf("%s: %+v", c.UserID(), e.NetworkQualityList)
	}

	link.SetCut(true)
	for _, c := range []*client.Conn{bob, carol} {
		waitFor(t, c, protocol.EventUserNetworkQualityChanged, func(e protocol.UserNetworkQualityChangedEvent) bool {
			return listsEveryone(e) && qualityOf(e)[alice.UserID()] == 6
		})
	}
	for _, c := range []*client.Conn{alice, bob, carol} {
		for _, e := range decoded[protocol.UserNetworkQualityChangedEvent](t, c, protocol.EventUserNetworkQualityChanged) {
			for _, q := range e.NetworkQualityList {
				if q.Quality > 6 {
					t.Fatalf("%s: quality %d of %s outside 0..6", c.UserID(), q.Quality, q.UserID)
				}
				if !slices.Contains(everyone, q.UserID) {
					t.Fatalf("%s: quality list names %s, who is not in the room", c.UserID(), q.UserID)
				}
			}
		}
	}
	link.SetCut(false)
}

// TestSpecRemoteViewResolution checks D24's resolution choice: startRemoteView with
// Resolution 108 (640×360) of a simulcast publisher delivers the 640×360 layer, and
// setRemoteViewQuality with Resolution 114 (1920×1080) the largest one.
func TestSpecRemoteViewResolution(t *testing.T)        { specRemoteViewResolution(t, newStack) }
func TestClusterSpecRemoteViewResolution(t *testing.T) { specRemoteViewResolution(t, newClusterStack) }

func specRemoteViewResolution(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "d24", "alice", "bob")
	alice, bob := us[0], us[1]
	id := protocol.StrRoom("d24-room")
	inRoom(t, alice, id, client.MediaOptions{Audio: true, Video: true, Simulcast: client.DefaultSimulcastLayers()})
	inRoom(t, bob, id, client.MediaOptions{})
	must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{Resolution: protocol.Resolution640x360}))
	waitUntil(t, ctx, "bob to receive alice's 640×360 layer", func() bool {
		tr, ok := remoteVideo(bob, alice.UserID())
		return ok && tr.Simulcast.Layer == 1 && tr.Simulcast.Frames[1] >= 20
	})
	must(t, bob.SetRemoteViewQuality(ctx, alice.UserID(), protocol.VideoQuality{Resolution: protocol.Resolution1920x1080}))
	waitUntil(t, ctx, "bob to receive alice's largest layer", func() bool {
		tr, ok := remoteVideo(bob, alice.UserID())
		return ok && tr.Simulcast.Layer == 2 && tr.Simulcast.Frames[2] >= 20
	})
}

// TestSpecMediaErrors checks D25 for the room and media methods: JSON-RPC error objects
// with the documented codes (PROTOCOL.md §7), and data.field naming a bad member.
func TestSpecMediaErrors(t *testing.T)        { specMediaErrors(t, newStack) }
func TestClusterSpecMediaErrors(t *testing.T) { specMediaErrors(t, newClusterStack) }

func specMediaErrors(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	us := st.users(t, "d25", "alice", "bob")
	alice, bob := us[0], us[1]
	raw := func(c *client.Conn, method string, params any) error { return c.Request(ctx, method, params, nil) }
	outside := []struct {
		method string
		params any
	}{
		{protocol.MethodLeaveRoom, nil},
		{protocol.MethodStartRemoteView, map[string]any{"userId": bob.UserID()}},
		{protocol.MethodStopRemoteView, map[string]any{"userId": bob.UserID()}},
		{protocol.MethodSetRemoteViewQuality, map[string]any{"userId": bob.UserID(), "resolution": 108}},
		{protocol.MethodOpenCamera, nil},
		{protocol.MethodCloseCamera, nil},
		{protocol.MethodOpenMicrophone, nil},
		{protocol.MethodCloseMicrophone, nil},
	}
	for _, tt := range outside {
		t.Run(tt.method+" outside a room", func(t *testing.T) {
			wantCode(t, raw(alice, tt.method, tt.params), protocol.CodeNotInRoom)
		})
	}
	must(t, joinRoomGranted(ctx, t, alice, protocol.StrRoom("d25-room")))
	inside := []struct {
		name   string
		method string
		params any
		code   int
		field  string
	}{
		{"joinRoom twice", protocol.MethodJoinRoom, map[string]any{"roomId": "d25-other"}, protocol.CodeAlreadyInRoom, ""},
		{"joinRoom without roomId", protocol.MethodJoinRoom, map[string]any{}, protocol.CodeInvalidParams, "roomId"},
		{"startRemoteView of yourself", protocol.MethodStartRemoteView, map[string]any{"userId": alice.UserID()}, protocol.CodeInvalidParams, "userId"},
		{"startRemoteView with an unknown resolution", protocol.MethodStartRemoteView, map[string]any{"userId": bob.UserID(), "resolution": 109}, protocol.CodeInvalidParams, "resolution"},
		{"startRemoteView with a resolution of the wrong type", protocol.MethodStartRemoteView, map[string]any{"userId": bob.UserID(), "resolution": "720p"}, protocol.CodeInvalidParams, "resolution"},
		{"unknown method", "startLocalPreview", nil, protocol.CodeMethodNotFound, ""},
	}
	for _, tt := range inside {
		t.Run(tt.name, func(t *testing.T) {
			perr := wantCode(t, raw(alice, tt.method, tt.params), tt.code)
			if perr.Message == "" {
				t.Fatalf("error %d without a message", perr.Code)
			}
			if tt.field == "" {
				return
			}
			data, _ := json.Marshal(perr.Data)
			var d struct {
				Field string `json:"field"`
			}
			if err := json.Unmarshal(data, &d); err != nil || d.Field != tt.field {
				t.Fatalf("error data %s, want field %q", data, tt.field)
			}
		})
	}
	// A startRemoteView of a user who is not (yet) in the room is accepted (4005 reserved).
	must(t, raw(alice, protocol.MethodStartRemoteView, map[string]any{"userId": bob.UserID()}))
	must(t, alice.LeaveRoom(ctx))
}

// TestSpecUnpublishAndEarlyView checks D19 for unpublishing (a user who stops its media
// but stays in the room is no longer available, then is again when it publishes anew) and
// D24 for a startRemoteView given before the publisher is there (it applies when the
// publisher's video arrives) and for viewing again after stopRemoteView.
func TestSpecUnpublishAndEarlyView(t *testing.T) { specUnpublishAndEarlyView(t, newStack) }
func TestClusterSpecUnpublishAndEarlyView(t *testing.T) {
	specUnpublishAndEarlyView(t, newClusterStack)
}

func specUnpublishAndEarlyView(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "d19u", "alice", "bob")
	alice, bob := us[0], us[1]
	id := protocol.StrRoom("d19u-room")
	inRoom(t, bob, id, client.MediaOptions{Audio: true})
	must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
	inRoom(t, alice, id, client.MediaOptions{Audio: true, Video: true})
	sawJoin(t, bob, alice.UserID(), id)
	sawVideo(t, bob, alice.UserID(), true)
	sawAudio(t, bob, alice.UserID(), true)
	if _, err := bob.WaitRemoteTrack(ctx, alice.UserID(), webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatalf("startRemoteView before alice joined: %v", err)
	}

	// View again after a stop: the video comes back.
	must(t, bob.StopRemoteView(ctx, alice.UserID()))
	must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
	before := videoPackets(bob, alice.UserID())
	waitUntil(t, ctx, "bob's video of alice to come back", func() bool { return videoPackets(bob, alice.UserID()) >= before+60 })

	// alice unpublishes: her media stops while she is still in the room. Publishing again
	// takes a new room session (her PeerConnections are gone): leave, join, publish.
	must(t, alice.StopMedia())
	sawVideo(t, bob, alice.UserID(), false)
	sawAudio(t, bob, alice.UserID(), false)
	must(t, alice.LeaveRoom(ctx))
	waitFor(t, bob, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == alice.UserID() })
	inRoom(t, alice, id, client.MediaOptions{Audio: true})
	// (EventCount takes the event log's lock: never call it inside a waitFor match.)
	waitUntil(t, ctx, "bob to hear alice join again with her audio on", func() bool {
		audio := decoded[protocol.UserAudioAvailableEvent](t, bob, protocol.EventUserAudioAvailable)
		last := audio[len(audio)-1]
		return bob.EventCount(protocol.EventUserJoin) == 2 && len(audio) == 3 && last.UserID == alice.UserID() && last.IsAudioAvailable
	})
	if _, err := bob.WaitRemoteTrack(ctx, alice.UserID(), webrtc.RTPCodecTypeAudio, 25); err != nil {
		t.Fatal(err)
	}
	// Her new session publishes no video: nobody is told it is on again.
	for _, e := range decoded[protocol.UserVideoAvailableEvent](t, bob, protocol.EventUserVideoAvailable)[2:] {
		t.Fatalf("bob heard %+v after alice came back without video", e)
	}
}
