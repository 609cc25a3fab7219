package postgres

import (
	"testing"

	"go.uber.org/goleak"
)

// Every pool and connection the tests open, Open's failure paths included,
// must be closed by the end. Goroutines that dependencies start in init
// (linked in through testutil) are there before any test and are ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
