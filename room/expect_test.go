package room

import (
	"fmt"
	"slices"
	"testing"
)

// TestReservedSections: an early participant reserves an audio (and, with ExpectVideo, a
// video) section per expected user, each once, never for itself, at most MaxExpected
// users; a participant that is not early reserves nothing.
func TestReservedSections(t *testing.T) {
	many := make([]string, MaxExpected+3)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	tests := []struct {
		name string
		opts JoinOptions
		want []string // "user kind"
	}{
		{"audio call", JoinOptions{Early: true, Expect: []string{"alice", "carol"}}, []string{"alice audio", "carol audio"}},
		{"video call", JoinOptions{Early: true, Expect: []string{"alice"}, ExpectVideo: true}, []string{"alice audio", "alice video"}},
		{"itself, repeats and empty IDs skipped", JoinOptions{Early: true, Expect: []string{"bob", "alice", "", "alice"}}, []string{"alice audio"}},
		{"not early", JoinOptions{Expect: []string{"alice"}, ExpectVideo: true}, nil},
		{"nobody expected", JoinOptions{Early: true, ExpectVideo: true}, nil},
		{"bounded", JoinOptions{Early: true, Expect: many}, func() []string {
			var w []string
			for _, u := range many[:MaxExpected] {
				w = append(w, u+" audio")
			}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, rs := range reservedSections("bob", tt.opts) {
				got = append(got, rs.StreamID+" "+rs.Kind.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("reservedSections = %v, want %v", got, tt.want)
			}
		})
	}
}
