package directorytest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func requireTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	require.True(t, want.Equal(got), "%s: want %v, got %v", field, want, got)
}

// requireJSON compares JSON by meaning; an absent value may come back as
// nil or empty.
func requireJSON(t *testing.T, want, got json.RawMessage, field string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, field)
		return
	}
	require.JSONEq(t, string(want), string(got), field)
}

func requireAccount(t *testing.T, want, got directory.Account) {
	t.Helper()
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	want.CreatedAt, got.CreatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func requirePerson(t *testing.T, want, got directory.Person) {
	t.Helper()
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	want.UpdatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

// requireRecord compares two records: the fields parts names as times
// (as instants) and as JSON (by meaning), every other field exactly.
func requireRecord[T any](t *testing.T, want, got T, parts func(*T) (map[string]*time.Time, *json.RawMessage)) {
	t.Helper()
	wantTimes, wantJSON := parts(&want)
	gotTimes, gotJSON := parts(&got)
	for name, w := range wantTimes {
		requireTime(t, *w, *gotTimes[name], name)
		*w, *gotTimes[name] = time.Time{}, time.Time{}
	}
	requireJSON(t, *wantJSON, *gotJSON, "JSON")
	*wantJSON, *gotJSON = nil, nil
	require.Equal(t, want, got)
}

func requireInvitation(t *testing.T, want, got directory.Invitation) {
	t.Helper()
	requireRecord(t, want, got, func(i *directory.Invitation) (map[string]*time.Time, *json.RawMessage) {
		return map[string]*time.Time{"CreatedAt": &i.CreatedAt, "ExpiresAt": &i.ExpiresAt, "StatusAt": &i.StatusAt}, &i.Access
	})
}

func requireContact(t *testing.T, want, got directory.Contact) {
	t.Helper()
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func requireAudit(t *testing.T, want, got directory.AuditEntry) {
	t.Helper()
	requireTime(t, want.Time, got.Time, "Time")
	requireJSON(t, want.Before, got.Before, "Before")
	requireJSON(t, want.After, got.After, "After")
	requireJSON(t, want.Recovery, got.Recovery, "Recovery")
	want.Time, want.Before, want.After, want.Recovery = time.Time{}, nil, nil, nil
	got.Time, got.Before, got.After, got.Recovery = time.Time{}, nil, nil, nil
	// The chain's fields are the store's, checked by the chain's own tests.
	want.Chain, want.PrevHash, want.Hash = 0, nil, nil
	got.Chain, got.PrevHash, got.Hash = 0, nil, nil
	require.Equal(t, want, got)
}

func requireAudits(t *testing.T, want, got []directory.AuditEntry) {
	t.Helper()
	require.Equal(t, auditSeqs(want), auditSeqs(got))
	for i := range want {
		requireAudit(t, want[i], got[i])
	}
}

func invitationIDs(invs []directory.Invitation) []string {
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	return ids
}

func auditSeqs(es []directory.AuditEntry) []int64 {
	seqs := make([]int64, len(es))
	for i, e := range es {
		seqs[i] = e.Seq
	}
	return seqs
}
