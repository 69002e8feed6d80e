package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// arrivalKind is what arrived first from a remote publisher.
type arrivalKind string

const (
	arrivedAudio    arrivalKind = "audio"    // the first RTP packet of its audio track
	arrivedVideo    arrivalKind = "video"    // the first RTP packet of its video track
	arrivedKeyframe arrivalKind = "keyframe" // the first packet of its video's first keyframe
	// arrivedDecodable: the last packet (marker) of its first keyframe whose packets all
	// came, in sequence, from the keyframe's first on (receiver.go: keyframeAssembly)
	arrivedDecodable arrivalKind = "decodable"
)

type arrivalKey struct {
	publisher string
	kind      arrivalKind
}

// arrival is closed (done) once at is set.
type arrival struct {
	done chan struct{}
	at   time.Time
}

// arrivals records when each remote publisher's first audio packet, first video packet
// and first keyframe reached one participant (the read loops mark them), and lets a call
// wait for them. mu guards m; an arrival's at is written once, before done is closed.
type arrivals struct {
	mu sync.Mutex
	m  map[arrivalKey]*arrival
}

func (a *arrivals) get(k arrivalKey) *arrival {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[arrivalKey]*arrival{}
	}
	v, ok := a.m[k]
	if !ok {
		v = &arrival{done: make(chan struct{})}
		a.m[k] = v
	}
	return v
}

// mark records the arrival time of k; only the first one counts.
func (a *arrivals) mark(publisher string, kind arrivalKind, at time.Time) {
	v := a.get(arrivalKey{publisher, kind})
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-v.done:
	default:
		v.at = at
		close(v.done)
	}
}

// wait returns when k first arrived, waiting for it until ctx ends.
func (a *arrivals) wait(ctx context.Context, publisher string, kind arrivalKind) (time.Time, error) {
	v := a.get(arrivalKey{publisher, kind})
	select {
	case <-v.done:
		return v.at, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("bench: no %s from %s: %w", kind, publisher, ctx.Err())
	}
}
