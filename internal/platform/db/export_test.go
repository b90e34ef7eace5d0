package db

import "time"

// SetCheckpointing changes how often the background checkpoint runs and
// the log size from which the writer restarts the log, until undo.
func SetCheckpointing(every time.Duration, frames int) (undo func()) {
	e, f := checkpointEvery, restartFrames
	checkpointEvery, restartFrames = every, frames
	return func() { checkpointEvery, restartFrames = e, f }
}
