package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body.
const SignatureHeader = "X-Parley-Signature"

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is the signature of body under secret (constant time).
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// Stats counts deliveries since New.
type Stats struct {
	Delivered uint64 // events a receiver accepted (2xx)
	Retries   uint64 // failed attempts that were retried
	GivenUp   uint64 // events dropped after max_attempts
	Dropped   uint64 // events refused by a full queue (or after Close)
	// DroppedByApp splits Dropped by the app (SDKAppID) whose event was dropped (D287);
	// apps with no drop are absent.
	DroppedByApp map[int]uint64
}

// Dispatcher sends events to the configured URLs. It implements signaling.Hooks and
// room.Listener.
type Dispatcher struct {
	room.NopListener

	cfg    Config
	secret []byte
	log    *slog.Logger
	client *http.Client
	now    func() time.Time

	seq     atomic.Uint64
	targets []*target

	roomsMu sync.Mutex
	rooms   map[room.ID]bool // rooms reported as started

	lifeMu  sync.Mutex
	started bool
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	delivered, retries, givenUp, dropped atomic.Uint64

	dropsMu      sync.Mutex
	droppedByApp map[int]uint64 // at most one entry per app that emits (the configured ones)
}

var (
	_ signaling.Hooks = (*Dispatcher)(nil)
	_ room.Listener   = (*Dispatcher)(nil)
)

// target is one URL with its queue, fair between apps (queue.go); its worker goroutine is
// the only reader. shown is the URL as logs and errors carry it (redactURL).
type target struct {
	url   string
	shown string
	queue *fairQueue
}

type delivery struct {
	event string
	id    string
	body  []byte
}

// New validates cfg and returns a Dispatcher; it starts nothing. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		cfg: cfg, secret: []byte(cfg.Secret), log: logger, now: time.Now,
		client: &http.Client{Timeout: cfg.Timeout},
		rooms:  make(map[room.ID]bool),
		ctx:    ctx, cancel: cancel,
		droppedByApp: make(map[int]uint64),
	}
	for _, u := range cfg.URLs {
		d.targets = append(d.targets, &target{url: u, shown: redactURL(u), queue: newFairQueue(cfg.QueueSize)})
	}
	return d, nil
}

// Start starts one worker per URL. Idempotent; after Close it does nothing.
func (d *Dispatcher) Start() {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	for _, t := range d.targets {
		d.wg.Add(1)
		go d.run(t)
	}
}

// Close stops accepting events and lets the workers deliver what is queued until ctx
// ends; then in-flight requests and waits are cancelled. It waits for the workers.
// Idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.lifeMu.Lock()
	if d.closed {
		d.lifeMu.Unlock()
		return nil
	}
	d.closed = true
	for _, t := range d.targets {
		t.queue.close()
	}
	d.lifeMu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
	}
	d.cancel()
	return nil
}

// Stats returns the delivery counters.
func (d *Dispatcher) Stats() Stats {
	st := Stats{Delivered: d.delivered.Load(), Retries: d.retries.Load(), GivenUp: d.givenUp.Load(), Dropped: d.dropped.Load()}
	d.dropsMu.Lock()
	st.DroppedByApp = maps.Clone(d.droppedByApp)
	d.dropsMu.Unlock()
	return st
}

// drop counts an event of app that was dropped; it logs the 1st, 2nd, 4th, 8th... drop.
func (d *Dispatcher) drop(t *target, event string, app int) {
	d.dropsMu.Lock()
	d.droppedByApp[app]++
	d.dropsMu.Unlock()
	if n := d.dropped.Add(1); n&(n-1) == 0 && t != nil {
		d.log.Warn("webhook queue full: event dropped", "url", t.shown, "event", event, "app", app, "dropped_total", n)
	}
}

// emit marshals one event and offers it to every URL's queue without blocking.
func (d *Dispatcher) emit(event string, app int, data any) {
	if len(d.targets) == 0 {
		return
	}
	env := Envelope{ID: randomID(), Seq: d.seq.Add(1), Event: event, SDKAppID: app, CreatedAt: d.now().UnixMilli(), Data: data}
	body, err := json.Marshal(env)
	if err != nil {
		d.log.Error("webhook event does not marshal", "event", event, "error", err)
		return
	}
	d.lifeMu.Lock() // orders emit against Close's close(queue)
	defer d.lifeMu.Unlock()
	for _, t := range d.targets {
		if d.closed {
			d.drop(nil, event, app)
			continue
		}
		if victim, lost, dropped := t.queue.push(app, delivery{event: event, id: env.ID, body: body}); dropped {
			d.drop(t, lost, victim)
		}
	}
}

// run is a URL's worker: each app's events in order, the apps in turn (queue.go), each
// event retried with backoff.
func (d *Dispatcher) run(t *target) {
	defer d.wg.Done()
	for {
		del, ok, done := t.queue.pop()
		switch {
		case ok:
			d.deliver(t, del)
		case done:
			return
		default:
			<-t.queue.ready
		}
	}
}

func (d *Dispatcher) deliver(t *target, del delivery) {
	wait := d.cfg.BackoffInitial
	for attempt := 1; ; attempt++ {
		err := d.post(t, del)
		if err == nil {
			d.delivered.Add(1)
			return
		}
		if attempt >= d.cfg.MaxAttempts || d.ctx.Err() != nil {
			d.givenUp.Add(1)
			d.log.Warn("webhook given up", "url", t.shown, "event", del.event, "id", del.id, "attempts", attempt, "error", err)
			return
		}
		d.retries.Add(1)
		d.log.Debug("webhook failed; retrying", "url", t.shown, "event", del.event, "attempt", attempt, "in", wait, "error", err)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-d.ctx.Done():
			timer.Stop()
		}
		wait = min(2*wait, d.cfg.BackoffMax)
	}
}

// post sends one attempt. Its error never carries the URL's credentials: a *url.Error
// (every error of http.Client.Do) names the redacted URL.
func (d *Dispatcher) post(t *target, del delivery) (err error) {
	defer func() {
		if uerr, ok := err.(*url.Error); ok {
			err = &url.Error{Op: uerr.Op, URL: t.shown, Err: uerr.Err}
		}
	}()
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, t.url, bytes.NewReader(del.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "parley-webhooks")
	req.Header.Set("X-Parley-Event", del.event)
	req.Header.Set("X-Parley-Delivery", del.id)
	req.Header.Set(SignatureHeader, Sign(d.secret, del.body))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", strconv.Itoa(resp.StatusCode))
	}
	return nil
}

// CallBegan queues call_began (signaling.Hooks; non-blocking).
func (d *Dispatcher) CallBegan(c call.CallSummary) { d.emit(EventCallBegan, c.SDKAppID, callData(c)) }

// CallEnded queues call_ended with result and totalTime (signaling.Hooks; non-blocking).
func (d *Dispatcher) CallEnded(c call.CallSummary) { d.emit(EventCallEnded, c.SDKAppID, callData(c)) }

// InviteeOffline queues invitee_offline (signaling.Hooks; non-blocking).
func (d *Dispatcher) InviteeOffline(app int, callID, invitee string, inv protocol.CallReceivedEvent) {
	data := inviteeOfflineData(invitee, inv)
	data.CallID = callID
	d.emit(EventInviteeOffline, app, data)
}

// ParticipantJoined queues room_started for a room's first connected participant
// (room.Listener).
func (d *Dispatcher) ParticipantJoined(id room.ID, _ string) {
	d.roomsMu.Lock()
	first := !d.rooms[id]
	d.rooms[id] = true
	d.roomsMu.Unlock()
	if first {
		d.emit(EventRoomStarted, id.App(), RoomData{RoomID: wireRoomID(id)})
	}
}

// RoomClosed queues room_finished for a room that was reported started (room.Listener).
func (d *Dispatcher) RoomClosed(id room.ID) {
	d.roomsMu.Lock()
	started := d.rooms[id]
	delete(d.rooms, id)
	d.roomsMu.Unlock()
	if started {
		d.emit(EventRoomFinished, id.App(), RoomData{RoomID: wireRoomID(id)})
	}
}

// RecordingFinished queues recording_finished with a stopped recording's manifest.
func (d *Dispatcher) RecordingFinished(app int, manifest any) {
	d.emit(EventRecordingFinished, app, manifest)
}

func wireRoomID(id room.ID) protocol.RoomID {
	if id.IsInt() {
		return protocol.IntRoom(id.Int())
	}
	return protocol.StrRoom(id.Str())
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
