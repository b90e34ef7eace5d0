package calendar

import "errors"

// Sentinel errors, for callers to test with errors.Is.
var (
	// ErrInvalidDate reports a date that does not exist or cannot be parsed.
	ErrInvalidDate = errors.New("calendar: invalid date")
	// ErrInvalidLunarDate reports a lunar date that does not exist, such as a
	// leap month in a year without one or day 30 of a 29-day month.
	ErrInvalidLunarDate = errors.New("calendar: invalid lunar date")
	// ErrInvalidAnnouncement reports an announcement that fails validation.
	ErrInvalidAnnouncement = errors.New("calendar: invalid announcement")
	// ErrInvalidOptions reports unusable Options (office hours, weekend).
	ErrInvalidOptions = errors.New("calendar: invalid options")
)
