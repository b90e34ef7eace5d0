package gateway

// SetJournalSegments makes journal segments small, for the tests of their
// rotation and deletion; the returned func restores the sizes.
func SetJournalSegments(segment, restart int64) (restore func()) {
	s, r := journalSegmentBytes, journalRestartBytes
	journalSegmentBytes, journalRestartBytes = segment, restart
	return func() { journalSegmentBytes, journalRestartBytes = s, r }
}
