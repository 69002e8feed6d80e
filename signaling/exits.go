package signaling

import (
	"context"
	"fmt"
	"slices"
)

// A session that ends (kicked by a newer login, logged out, expired) leaves its room on its
// effects queue, behind whatever that queue still runs: the leave of a PeerConnection pair
// is I/O and never runs under Service.mu. Until it ran, the room still holds the user, so
// the user's next session would be refused with 4003 ("already in that room on another
// session") if it joined the same room at once (D275). The tenant notes each such exit
// until it ran, and a joinRoom of the user waits for them first.

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

// awaitExits returns once the room exits of the user's ended sessions queued so far have
// run, or ctx's error. It waits on the caller's goroutine (a request's, never an effects
// queue's), so no queue waits for another here.
func (s *Service) awaitExits(ctx context.Context, app int, userID string) error {
	s.mu.Lock()
	var pending []chan struct{}
	if t := s.tenants[app]; t != nil {
		pending = slices.Clone(t.exiting[userID])
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
