package ingest

import (
	"errors"
	"fmt"
)

// ErrNotEvents marks an object of a known type that holds no events to
// ingest (a CloudTrail digest file). It is counted as skipped, not failed.
var ErrNotEvents = errors.New("object holds no events")

// ErrUnknownType is returned when no source recognises an object and no
// --type was forced.
var ErrUnknownType = errors.New("unrecognised log type")

// ParseError is an error at a position in one object.
type ParseError struct {
	Object string // URI of the object
	Line   int64  // 1-based line, 0 when unknown
	Err    error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %v", e.Object, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Object, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }
