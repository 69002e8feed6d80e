package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/signaling/token"
)

// roomSeat is one participant of a room scenario: what it publishes and which videos it
// views (at which size).
type roomSeat struct {
	room    protocol.RoomID
	node    int // its node is runner.node(node): runner.memberNode of the room and the seat
	userID  string
	publish Publishing
	views   []roomView
}

type roomView struct {
	publisher     string
	width, height int
}

// seats lists every participant of the room scenario, publishers first.
func (r *runner) seats() (publishers, subscribers []roomSeat) {
	s := r.cfg.Scenario
	for room := range s.Rooms {
		id := protocol.StrRoom(fmt.Sprintf("bench_%s_%d", r.runID, room))
		for i := range s.VideoPublishers {
			publishers = append(publishers, roomSeat{room: id, node: r.memberNode(room, i), userID: r.userID("v", room, i), publish: Publishing{
				Audio: s.PublisherAudio, Video: true, Simulcast: s.Simulcast, VideoBitrate: s.VideoBitrate,
				Codec: client.VideoCodec(s.Codec), VideoFile: r.videoFile, AudioFile: r.audioFile,
			}})
		}
		for i := range s.AudioPublishers {
			publishers = append(publishers, roomSeat{room: id, node: r.memberNode(room, s.VideoPublishers+i), userID: r.userID("a", room, i), publish: Publishing{Audio: true, AudioFile: r.audioFile}})
		}
		for i := range s.Subscribers {
			seat := roomSeat{room: id, node: r.memberNode(room, s.VideoPublishers+s.AudioPublishers+i), userID: r.userID("s", room, i)}
			for k := range s.Views {
				v := roomView{publisher: r.userID("v", room, k), width: s.LowWidth, height: s.LowHeight}
				if k < s.HighViews {
					v.width, v.height = s.HighWidth, s.HighHeight
				}
				seat.views = append(seat.views, v)
			}
			subscribers = append(subscribers, seat)
		}
	}
	return publishers, subscribers
}

// runRoom joins the publishers, then the subscribers, at the ramp rate; settles; measures.
func (r *runner) runRoom(ctx context.Context, rc *recorder) error {
	s := r.cfg.Scenario
	publishers, subscribers := r.seats()
	var (
		mu  sync.Mutex
		all []*participant
	)
	defer func() { closeAll(all) }()
	keep := func(p *participant) {
		mu.Lock()
		all = append(all, p)
		mu.Unlock()
	}
	rc.setPhase("joining")
	pace := time.NewTicker(time.Duration(float64(time.Second) / s.Ramp))
	defer pace.Stop()
	for _, group := range [][]roomSeat{publishers, subscribers} {
		var wg sync.WaitGroup
		for _, seat := range group {
			select {
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			case <-pace.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p := r.joinSeat(ctx, seat); p != nil {
					keep(p)
				}
			}()
		}
		wg.Wait()
	}
	return r.settleAndMeasure(ctx, rc)
}

// settleAndMeasure fails when nobody joined; otherwise it waits the scenario's Settle and
// measures the window (the end of runRoom and runCalls).
func (r *runner) settleAndMeasure(ctx context.Context, rc *recorder) error {
	if r.noneJoined() {
		return errNoneJoined(r)
	}
	rc.setPhase("settling")
	if !sleepCtx(ctx, r.cfg.Scenario.Settle) {
		return ctx.Err()
	}
	rc.measure(ctx)
	return ctx.Err()
}

// joinSeat connects, joins the room, publishes and views; nil when it failed (counted).
func (r *runner) joinSeat(ctx context.Context, seat roomSeat) *participant {
	r.mu.Lock()
	r.attempts++
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	p, err := connect(ctx, r.node(seat.node), seat.userID, true)
	if err != nil {
		r.fail(failureCause("connect", err))
		return nil
	}
	stage, err := r.enterRoom(ctx, p, seat)
	if err != nil {
		r.cfg.Logger.Warn("join failed", "user", seat.userID, "stage", stage, "err", err)
		r.fail(failureCause(stage, err))
		p.close()
		return nil
	}
	r.joinedOne()
	return p
}

func (r *runner) enterRoom(ctx context.Context, p *participant, seat roomSeat) (stage string, err error) {
	grant, err := p.target.roomGrant(seat)
	if err != nil {
		return "joinRoom", err
	}
	if err := p.conn.JoinRoomWithGrant(ctx, seat.room, grant); err != nil {
		return "joinRoom", err
	}
	if seat.publish.Audio || seat.publish.Video {
		if err := p.publish(ctx, seat.publish); err != nil {
			return "publish", err
		}
	}
	for _, v := range seat.views {
		if err := p.view(ctx, v.publisher, v.width, v.height); err != nil {
			return "startRemoteView", err
		}
	}
	if seat.publish.Audio || seat.publish.Video {
		p.markMediaUp() // a publisher's media flows once it sends
		return "", nil
	}
	if err := p.waitMedia(ctx); err != nil {
		return "media", err
	}
	return "", nil
}

// roomGrant is the seat's room grant, minted with the app secret like the userSigs: a
// publisher may publish and subscribe, a subscriber only subscribe.
func (tg *target) roomGrant(seat roomSeat) (string, error) {
	rights := protocol.RoomRights{Subscribe: true, Publish: seat.publish.Audio || seat.publish.Video}
	grant, err := token.MintRoomGrant(tg.appID, tg.secret, seat.userID, seat.room, rights, 24*time.Hour, time.Now())
	if err != nil {
		return "", fmt.Errorf("bench: mint room grant for %s: %w", seat.userID, err)
	}
	return grant, nil
}

func (r *runner) noneJoined() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joined == 0
}

func (r *runner) failureSummary() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.failures))
	for k, v := range r.failures {
		out[k] = v
	}
	return out
}
