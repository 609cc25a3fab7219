package freshness_test

import (
	"errors"
	"testing"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// FuzzTokens: a caller's ZedToken (X-Hostaccess-Token, the token in a
// check) is read by SpiceDB's own decoder for the configured datastore.
// Whatever the text, it is either a token, which is then covered once
// observed, or refused with ErrInvalidToken, the same way by Observe and
// Consistency; never a panic.
func FuzzTokens(f *testing.F) {
	for _, token := range []string{
		"Gh8KEzE3OTYyNDE2OTY4MjM3ODk1NDYSCDQxN2UwMTVj",         // memory
		"GiQKGENOWXpJTlV6S0lqSnkvNy9pZUwyR0E9PRIIZGViYjgwZGU=", // postgres
		"GhUKEzE3MDAwMDAwMDAwMDAwMDAwMDA=",
		"",
		"not-a-token",
		"Gh8KEzE3OTYyNDE2OTY4MjM3ODk1NDYSCDQxN2UwMTVj\x00",
		"GgA=",
		"CAESAA==",
	} {
		for _, engine := range []string{"memory", "postgres", "cockroachdb"} {
			f.Add(engine, token)
		}
	}
	store := testengine.NewDirectory(f, "")
	trackers := map[string]*freshness.Tracker{}
	for _, engine := range []string{"memory", "postgres", "cockroachdb"} {
		tracker, err := freshness.New(freshness.Config{DatastoreEngine: engine, Store: store})
		if err != nil {
			f.Fatal(err)
		}
		trackers[engine] = tracker
	}
	f.Fuzz(func(t *testing.T, engine, token string) {
		tracker, ok := trackers[engine]
		if !ok {
			return
		}
		observed := tracker.Observe([]string{"fuzz"}, token)
		_, asked := tracker.Consistency(t.Context(), []string{"fuzz"}, token)
		for _, err := range []error{observed, asked} {
			if err != nil && !errors.Is(err, freshness.ErrInvalidToken) {
				t.Fatalf("%s token %q: %v is not ErrInvalidToken", engine, token, err)
			}
		}
		if (observed == nil) != (asked == nil) && token != "" {
			t.Fatalf("%s token %q: Observe says %v, Consistency says %v", engine, token, observed, asked)
		}
		if observed == nil && !tracker.Covers("fuzz", token) {
			t.Fatalf("%s token %q observed but not covered", engine, token)
		}
	})
}

// The fuzzer's seeds are real tokens: each engine reads its own.
func TestTokensAreReadByTheirEngine(t *testing.T) {
	store := testengine.NewDirectory(t, "")
	for engine, token := range map[string]string{
		"memory":   "Gh8KEzE3OTYyNDE2OTY4MjM3ODk1NDYSCDQxN2UwMTVj",
		"postgres": "GiQKGENOWXpJTlV6S0lqSnkvNy9pZUwyR0E9PRIIZGViYjgwZGU=",
	} {
		tracker, err := freshness.New(freshness.Config{DatastoreEngine: engine, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if err := tracker.Observe([]string{"acme"}, token); err != nil {
			t.Fatalf("%s refuses its own token: %v", engine, err)
		}
		if err := tracker.Observe([]string{"acme"}, token+"x"); !errors.Is(err, freshness.ErrInvalidToken) {
			t.Fatalf("%s reads a mangled token: %v", engine, err)
		}
	}
}
