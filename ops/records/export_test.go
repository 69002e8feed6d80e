package records

import "time"

// SetGather changes how long w lets records gather before a write (gatherDelay); call it
// before the first Add.
func SetGather(w *Writer, d time.Duration) { w.gather = d }

// SetRetryDelay changes the first wait after a refused write and the longest wait (call
// it before the first Add).
func SetRetryDelay(w *Writer, first, longest time.Duration) {
	w.retryDelay, w.retryMax = first, longest
}
