package signaling

// SetBeforeJoin makes fn run on a session's effects queue before each room join (a slow
// PeerConnection build in tests). Set it before any session exists.
func (s *Service) SetBeforeJoin(fn func(userID string)) { s.beforeJoin = fn }

// SetBeforeLeave makes fn run before a session's participant leaves its room (a slow
// PeerConnection close in tests). Set it before any session exists.
func (s *Service) SetBeforeLeave(fn func(userID string)) { s.beforeLeave = fn }

// SetProfiles replaces the Service's ProfileStore (D54). Set it before any session exists.
func (s *Service) SetProfiles(p ProfileStore) { s.profiles = p }

// HTTPBase is httpBase: the base URL of a node's HTTP endpoints that redirects point at.
func HTTPBase(signalingURL string) (string, error) { return httpBase(signalingURL) }

// DetachedSessions is the number of logged-in sessions whose socket is lost and that wait
// for a resume.
func (s *Service) DetachedSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.resumable {
		if sess.isDetached() {
			n++
		}
	}
	return n
}
