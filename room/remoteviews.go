package room

import "fmt"

// admitWishLocked allows a new remote-view wish (StartRemoteView, SetRemoteViewQuality)
// for userID unless the participant already has room.max_pending_remote_views wishes
// for users who are not in the room and userID is not in it either. A wish it has
// already, or one for a user in the room, is always allowed. Caller holds room.mu.
func (p *Participant) admitWishLocked(userID string) error {
	r := p.room
	if _, ok := p.wantVideo[userID]; ok {
		return nil
	}
	if _, ok := p.wantSize[userID]; ok {
		return nil
	}
	if r.findLocked(userID) != nil {
		return nil
	}
	pending := 0
	for u := range p.wantVideo {
		if r.findLocked(u) == nil {
			pending++
		}
	}
	for u := range p.wantSize {
		if _, counted := p.wantVideo[u]; !counted && r.findLocked(u) == nil {
			pending++
		}
	}
	if limit := r.manager.cfg.MaxPendingRemoteViews; pending >= limit {
		r.manager.remoteViewRefusals.Add(1)
		return fmt.Errorf("remote view of %q by %q: %d wishes for users not in room %s (room.max_pending_remote_views): %w",
			userID, p.userID, pending, r.id, ErrTooManyRemoteViews)
	}
	return nil
}

// RemoteViewRefusals is the number of remote-view wishes refused with
// ErrTooManyRemoteViews since the Manager was made.
func (m *Manager) RemoteViewRefusals() uint64 { return m.remoteViewRefusals.Load() }
