package signaling

// SetBeforeJoin makes fn run on a session's effects queue before each room join (a slow
// PeerConnection build in tests). Set it before any session exists.
func (s *Service) SetBeforeJoin(fn func(userID string)) { s.beforeJoin = fn }

// SetBeforeLeave makes fn run before a session's participant leaves its room (a slow
// PeerConnection close in tests). Set it before any session exists.
func (s *Service) SetBeforeLeave(fn func(userID string)) { s.beforeLeave = fn }

// SetBeforeRequest makes fn run before each request of a session, in its turn (a slow
// request in tests). Set it before any session exists.
func (s *Service) SetBeforeRequest(fn func(userID, method string)) { s.beforeRequest = fn }

// SetProfiles replaces the Service's ProfileStore (D54). Set it before any session exists.
func (s *Service) SetProfiles(p ProfileStore) { s.profiles = p }

// HTTPBase is httpBase: the base URL of a node's HTTP endpoints that redirects point at.
func HTTPBase(signalingURL string) (string, error) { return httpBase(signalingURL) }

// DetachedSessions is the number of logged-in sessions whose socket is lost and that wait
// for a resume.
func (s *Service) DetachedSessions() int { return s.DetachedSessionsOf("") }

// DetachedSessionsOf is DetachedSessions of one user ("": of everyone). A test that waits
// for one socket's loss counts its user's: other sessions detached earlier in the test
// leave the count when their grace ends, at any moment.
func (s *Service) DetachedSessionsOf(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.resumable {
		if sess.isDetached() && (userID == "" || sess.UserID() == userID) {
			n++
		}
	}
	return n
}
