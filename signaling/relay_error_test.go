package signaling

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestClusterErrorHidesTheClusterInsides: a failed cross-node step is 5002 with the kind of
// failure, never the Redis address or node ids its error carries (a login during a Redis
// outage answered "… dial tcp 127.0.0.1:16379: connect: connection refused").
func TestClusterErrorHidesTheClusterInsides(t *testing.T) {
	redisDown := fmt.Errorf("owner of app 1400000001: %w: %w", cluster.ErrUnavailable,
		errors.New("dial tcp 10.0.0.9:6379: connect: connection refused"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Redis unreachable", redisDown, "cannot reach the cluster's store"},
		{"no node", fmt.Errorf("owner of app 1: lease held by n7, which is not alive: %w", cluster.ErrNoNode), "no live node takes this app"},
		{"owner lost", errOwnerLost, "log in again"},
		{"no answer", fmt.Errorf("no answer from node n7 within %v", relayAnswerTimeout), "did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pe *protocol.Error
			if !errors.As(clusterError(tt.err), &pe) || pe.Code != protocol.CodeClusterUnavailable {
				t.Fatalf("clusterError: %v, want a 5002", clusterError(tt.err))
			}
			if !strings.Contains(pe.Message, tt.want) {
				t.Fatalf("message %q, want it to say %q", pe.Message, tt.want)
			}
			for _, inside := range []string{"10.0.0.9", "6379", "dial tcp", "n7", "1400000001"} {
				if strings.Contains(pe.Message, inside) {
					t.Fatalf("message %q shows %q", pe.Message, inside)
				}
			}
		})
	}
}
