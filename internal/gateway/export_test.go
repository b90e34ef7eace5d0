package gateway

// SetJournalSegments makes journal segments small, for the tests of their
// rotation and deletion; the returned func restores the sizes.
func SetJournalSegments(segment, restart int64) (restore func()) {
	s, r := journalSegmentBytes, journalRestartBytes
	journalSegmentBytes, journalRestartBytes = segment, restart
	return func() { journalSegmentBytes, journalRestartBytes = s, r }
}

// SetJournalQueue bounds the records queued between the journal and the
// database, for the tests of a full queue; the returned func restores it.
func SetJournalQueue(n int) (restore func()) {
	q := journalQueue
	journalQueue = n
	return func() { journalQueue = q }
}
