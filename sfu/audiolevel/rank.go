package audiolevel

import (
	"cmp"
	"slices"
)

// Rank returns the users whose volume is above 0, loudest first; users with
// equal volume are ordered by ID so the result is stable from tick to tick.
// levels maps a user ID to its volume (0..100) as returned by Meter.Volume.
// The first element, if any, is the active speaker.
func Rank(levels map[string]int) []string {
	speakers := make([]string, 0, len(levels))
	for id, volume := range levels {
		if volume > 0 {
			speakers = append(speakers, id)
		}
	}
	slices.SortFunc(speakers, func(a, b string) int {
		if c := cmp.Compare(levels[b], levels[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return speakers
}
