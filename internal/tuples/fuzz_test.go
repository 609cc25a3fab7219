package tuples_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hostaccess/hostaccess/internal/tuples"
)

// Seeds of the tuple fuzzers; testdata/fuzz holds the hostile ones found
// while writing them (go test runs both as regular tests).
var relationshipSeeds = []string{
	"account:acme#owner@user:alice",
	"account:acme#member@user:carol[expiration:2026-12-31T00:00:00Z]",
	"product:acme/site#technical@user:dave",
	"tag:acme/client-x#account@account:acme",
	"account:acme#billing@account:acme#owner",
	"host:nordhost#admin@user:*",
	"account:acme#member@user:carol[some_caveat:{\"a\":1}]",
	"  account:acme#owner@user:alice  ",
	"account:acme#owner@user:alice\x00",
	"account:#owner@user:alice",
	"account:acme#owner@@user:alice",
}

// FuzzParse: Parse never panics, refuses with the syntax it wants, and what
// it accepts prints back to text that parses to the same relationship.
func FuzzParse(f *testing.F) {
	for _, s := range relationshipSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, err := tuples.Parse(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "malformed relationship") {
				t.Fatalf("Parse(%q): error %q does not say what is wrong", s, err)
			}
			return
		}
		printed := tuples.String(rel)
		again, err := tuples.Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, printed, err)
		}
		if !proto.Equal(rel, again) {
			t.Fatalf("Parse(%q) = %v; printed %q parses to %v", s, rel, printed, again)
		}
	})
}

// FuzzReadLines: a file of relationships is read whole or refused naming
// the line, and never yields more relationships than lines.
func FuzzReadLines(f *testing.F) {
	f.Add(strings.Join(relationshipSeeds[:5], "\n"))
	f.Add("// a comment\n\n# another\naccount:acme#owner@user:alice\r\n")
	f.Add("account:acme#owner@user:alice\nnot a tuple\n")
	f.Fuzz(func(t *testing.T, s string) {
		rels, err := tuples.ReadLines(strings.NewReader(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") && !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("ReadLines: error %q names no line", err)
			}
			return
		}
		if lines := strings.Count(s, "\n") + 1; len(rels) > lines {
			t.Fatalf("ReadLines read %d relationships from %d lines", len(rels), lines)
		}
	})
}

// FuzzParseFilter: an accepted filter has a type and ids free of the
// separators, and object and subject references print back to themselves.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"account:acme", "account:acme#owner", "product@user:dave", "account#member@user:carol#x", "account:a#b@c:d#e", "Account:acme", "account:ac me", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if filter, err := tuples.ParseFilter(s); err == nil {
			if filter.GetResourceType() == "" {
				t.Fatalf("ParseFilter(%q) accepted a filter with no type", s)
			}
			for _, id := range []string{filter.GetOptionalResourceId(), filter.GetOptionalSubjectFilter().GetOptionalSubjectId()} {
				if strings.ContainsAny(id, "#@ \t\n") {
					t.Fatalf("ParseFilter(%q) kept a separator in id %q", s, id)
				}
			}
		}
		if subject, err := tuples.ParseSubject(s); err == nil {
			printed := tuples.SubjectString(subject)
			again, err := tuples.ParseSubject(printed)
			if err != nil || !proto.Equal(subject, again) {
				t.Fatalf("ParseSubject(%q) printed %q, which parses to %v (%v)", s, printed, again, err)
			}
		}
	})
}
