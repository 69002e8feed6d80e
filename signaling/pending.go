package signaling

import (
	"sync"
	"sync/atomic"
)

// pendingSockets counts the open connections without a logged-in session, in all and by
// client (ClientKeyOf: the IP, or the /64 of an IPv6 address), and refuses new ones
// beyond signaling.max_pending_logins and signaling.max_pending_logins_per_ip (D207). A
// second one counts every open connection by client for signaling.max_sockets_per_ip
// (D318).
//
// Concurrency: mu guards total and byClient; any goroutine.
type pendingSockets struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
	refused  atomic.Uint64 // upgrades refused at a cap
}

// acquire counts one more connection of client unless a cap (> 0) is reached.
func (p *pendingSockets) acquire(client string, maxTotal, maxPerClient int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if maxTotal > 0 && p.total >= maxTotal || maxPerClient > 0 && p.byClient[client] >= maxPerClient {
		return false
	}
	p.addLocked(client, 1)
	return true
}

// rejoin counts a connection of client again, whatever the caps (a logout).
func (p *pendingSockets) rejoin(client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(client, 1)
}

// release uncounts a connection of client (a login, or the end of the connection).
func (p *pendingSockets) release(client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(client, -1)
}

func (p *pendingSockets) addLocked(client string, d int) {
	if p.byClient == nil {
		p.byClient = map[string]int{}
	}
	p.total += d
	if n := p.byClient[client] + d; n > 0 {
		p.byClient[client] = n
	} else {
		delete(p.byClient, client)
	}
}

// count is the number of connections counted now.
func (p *pendingSockets) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}
