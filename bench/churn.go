package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// runChurn starts a user every 1/ChurnRate seconds for the whole duration (the window):
// it joins a room, publishes audio (and video with ChurnVideo), stays Hold and leaves.
// After the last user left and the settle time passed, the server's goroutines, threads
// and RSS (the last sample) show whether sessions leak.
func (r *runner) runChurn(ctx context.Context, rc *recorder) error {
	s := r.cfg.Scenario
	var wg sync.WaitGroup
	rc.setPhase("churning")
	rc.beginWindow(ctx)
	end := time.Now().Add(s.Duration)
	pace := time.NewTicker(time.Duration(float64(time.Second) / s.ChurnRate))
	defer pace.Stop()
loop:
	for i := 0; time.Now().Before(end); i++ {
		select {
		case <-ctx.Done():
			break loop
		case <-pace.C:
		}
		room := i % s.Rooms
		seat := roomSeat{
			room:   protocol.StrRoom(fmt.Sprintf("bench_%s_%d", r.runID, room)),
			node:   r.memberNode(room, i/s.Rooms),
			userID: r.userID("u", room, i),
			publish: Publishing{
				Audio: true, Video: s.ChurnVideo, Simulcast: s.Simulcast, VideoBitrate: s.VideoBitrate, Codec: client.VideoCodec(s.Codec),
				VideoFile: r.videoFile, AudioFile: r.audioFile,
			},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := r.joinSeat(ctx, seat)
			if p == nil {
				return
			}
			sleepCtx(ctx, s.Hold)
			p.close()
		}()
	}
	rc.endWindow(context.WithoutCancel(ctx))
	rc.setPhase("leaving")
	wg.Wait()
	if r.noneJoined() {
		return errNoneJoined(r)
	}
	rc.setPhase("settling")
	// Two samples after the settle time, so the last one sees the server at rest.
	sleepCtx(ctx, s.Settle+2*sampleInterval)
	return ctx.Err()
}

func errNoneJoined(r *runner) error {
	return fmt.Errorf("bench: no participant joined: %v", r.failureSummary())
}
