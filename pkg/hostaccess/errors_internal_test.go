package hostaccess

import (
	"errors"
	"fmt"
	"testing"
)

// Flows branch on isConflict, users see Code: the two must agree for every
// domain error, bare, with detail and wrapped.
func TestIsConflictAgreesWithCode(t *testing.T) {
	for _, ec := range errorCodes {
		for _, err := range []error{ec.err, errorf(ec.err, "detail"), fmt.Errorf("wrapped: %w", errorf(ec.err, "detail"))} {
			if got, want := isConflict(err), Code(err) == "conflict"; got != want {
				t.Errorf("%v (code %s): isConflict %t, want %t", err, Code(err), got, want)
			}
		}
	}
	for _, err := range []error{nil, errors.New("plain"), unavailable("the directory is unavailable", errors.New("down"))} {
		if isConflict(err) {
			t.Errorf("%v: isConflict true, want false", err)
		}
	}
}
