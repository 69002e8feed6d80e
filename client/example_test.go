package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/signaling/token"
)

// login dials a server started with `go run ./cmd/parley` (dev mode) and logs userID in
// with a userSig minted from the development secret; an app gets its userSig from its
// own server instead.
func login(ctx context.Context, userID string) (*client.Conn, error) {
	sig, err := token.MintUserSig(1400000001, []byte(token.DevSecret), userID, time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, "ws://127.0.0.1:7880/ws", client.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := c.Login(ctx, 1400000001, userID, sig); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// A 1v1 video call with the Go SDK, both ends in one program: alice calls bob, bob
// accepts, both publish synthetic audio and video once the call began, alice views bob's
// video, and alice hangs up. Events are read from each Conn's event log with the Wait…
// helpers (an event that came before the wait is found too) or pushed to On handlers.
// Media is the app's: StartMedia at onCallBegin, StopMedia at onCallEnd / onCallCancelled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, err := login(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	defer alice.Close()
	bob, err := login(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()
	if err := alice.SetSelfInfo(ctx, "Alice", ""); err != nil { // invitations carry it
		log.Fatal(err)
	}
	bob.On(protocol.EventUserVoiceVolumeChanged, func(e client.Event) {
		var v protocol.UserVoiceVolumeChangedEvent
		if e.Decode(&v) == nil {
			fmt.Println("volumes", v.VolumeMap)
		}
	})

	call, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{Timeout: 30})
	if err != nil { // a busy bob is no error: alice gets onUserLineBusy, then onCallCancelled
		log.Fatal(err)
	}
	inv, err := bob.WaitCallReceived(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.CallerNickname, "calls, call", inv.CallID == call.CallID)
	if err := bob.Accept(ctx, 0); err != nil { // or Reject, Ignore; protocol.MediaTypeAudio answers with voice
		log.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		if _, err := c.WaitCallBegin(ctx); err != nil {
			log.Fatal(err)
		}
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			log.Fatal(err)
		}
	}
	if err := alice.StartRemoteView(ctx, "bob", protocol.VideoQuality{Resolution: protocol.Resolution640x360}); err != nil {
		log.Fatal(err)
	}
	video, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeVideo, 30)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice receives bob's video:", video.Packets >= 30)

	if err := alice.Hangup(ctx); err != nil {
		log.Fatal(err)
	}
	end, err := bob.WaitCallEnd(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob's call ended by", end.UserID, "after", end.TotalTime, "s")
	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StopMedia(); err != nil {
			log.Print(err)
		}
	}
	records, err := bob.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	if err == nil && len(records.Records) > 0 {
		fmt.Println("last call", records.Records[0].CallID == call.CallID)
	}
}
