package signaling

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// A session that ends (kicked by a newer login, logged out, expired) leaves its room on its
// effects queue, behind whatever that queue still runs: the leave of a PeerConnection pair
// is I/O and never runs under Service.mu. Until it ran, the room still holds the user, so
// the user's next session would be refused with 4003 ("already in that room on another
// session") if it joined the same room at once (D275). The tenant notes each such exit
// until it ran, and a joinRoom of the user waits for them first; so do a WHIP publisher's
// join (on its request's goroutine) and a call room join (on the session's effects queue,
// bounded by callExitWait, D317).

// queueExitLocked queues sess's room exit on its effects queue and notes it under the
// user's id in t until it ran. Called with Service.mu held.
func (s *Service) queueExitLocked(t *tenant, userID string, sess *session) {
	done := make(chan struct{})
	if t.exiting == nil {
		t.exiting = make(map[string][]chan struct{})
	}
	t.exiting[userID] = append(t.exiting[userID], done)
	sess.later(func() {
		sess.exitRoom()
		close(done)
		s.mu.Lock()
		defer s.mu.Unlock()
		left := slices.DeleteFunc(t.exiting[userID], func(c chan struct{}) bool { return c == done })
		if len(left) == 0 {
			delete(t.exiting, userID)
		} else {
			t.exiting[userID] = left
		}
	})
}

// callExitWait bounds how long a call room join on a session's effects queue waits for the
// room exits of the user's ended sessions (D317): past it the join goes ahead and fails as
// it did before the wait, so no queue can be held longer by a wait that could never end.
const callExitWait = 5 * time.Second

// pendingExitsLocked is what a join of userID must wait for: the room exits of its ended
// sessions queued so far. Called with Service.mu held.
func (t *tenant) pendingExitsLocked(userID string) []chan struct{} {
	return slices.Clone(t.exiting[userID])
}

// awaitExitsFor waits for every exit in pending, at most limit in all; false when the
// limit came first.
func awaitExitsFor(pending []chan struct{}, limit time.Duration) bool {
	if len(pending) == 0 {
		return true
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for _, done := range pending {
		select {
		case <-done:
		case <-timer.C:
			return false
		}
	}
	return true
}

// awaitExits returns once the room exits of the user's ended sessions queued so far have
// run, or ctx's error. It waits on the caller's goroutine (a request's, never an effects
// queue's), so no queue waits for another here.
func (s *Service) awaitExits(ctx context.Context, app int, userID string) error {
	s.mu.Lock()
	var pending []chan struct{}
	if t := s.tenants[app]; t != nil {
		pending = t.pendingExitsLocked(userID)
	}
	s.mu.Unlock()
	for _, done := range pending {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the room exit of an ended session of %q: %w", userID, ctx.Err())
		}
	}
	return nil
}
