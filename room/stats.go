package room

// Participants is the number of participants in all open rooms (for metrics; it takes
// each room's lock briefly, never on the media path).
func (m *Manager) Participants() int {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	n := 0
	for _, r := range rooms {
		n += len(r.members())
	}
	return n
}
