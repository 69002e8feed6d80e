package records

import "time"

// SetGather changes how long w lets records gather before a write (gatherDelay); call it
// before the first Add.
func SetGather(w *Writer, d time.Duration) { w.gather = d }
