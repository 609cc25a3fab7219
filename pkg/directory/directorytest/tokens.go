package directorytest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func newToken(id, accountID string, createdAt time.Time) directory.Token {
	return directory.Token{
		ID:         accountID + "/" + id,
		AccountID:  accountID,
		UserID:     "carol",
		Name:       "deploy " + id,
		SecretHash: tokenHash("secret-" + accountID + "/" + id),
		Access:     json.RawMessage(`{"rights":["billing"],"technical":{"products":["site"]}}`),
		CreatedAt:  createdAt,
		ExpiresAt:  createdAt.Add(30 * 24 * time.Hour),
		Status:     directory.TokenActive,
	}
}

func requireToken(t *testing.T, want, got directory.Token) {
	t.Helper()
	requireRecord(t, want, got, func(tok *directory.Token) (map[string]*time.Time, *json.RawMessage) {
		return map[string]*time.Time{"CreatedAt": &tok.CreatedAt, "ExpiresAt": &tok.ExpiresAt, "StatusAt": &tok.StatusAt}, &tok.Access
	})
}

func testTokens(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok := newToken("t1", "acme", t0)
	tok.AllowedCIDRs = []string{"10.0.0.0/8", "2001:db8::/32"}
	require.NoError(t, s.CreateToken(ctx, tok))

	got, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	requireToken(t, tok, got)
	got, err = s.GetTokenBySecretHash(ctx, tok.SecretHash)
	require.NoError(t, err)
	requireToken(t, tok, got)

	// Same id, or same secret under another id: refused, nothing changed.
	require.ErrorIs(t, s.CreateToken(ctx, tok), directory.ErrConflict)
	other := newToken("t2", "acme", t0)
	other.SecretHash = tok.SecretHash
	require.ErrorIs(t, s.CreateToken(ctx, other), directory.ErrConflict)
	_, err = s.GetToken(ctx, other.ID)
	require.ErrorIs(t, err, directory.ErrNotFound)

	_, err = s.GetToken(ctx, "acme/missing")
	require.ErrorIs(t, err, directory.ErrNotFound)
	_, err = s.GetTokenBySecretHash(ctx, tokenHash("no such secret"))
	require.ErrorIs(t, err, directory.ErrNotFound)
}

func testListTokens(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	later := newToken("a-later", "acme", t0.Add(time.Minute))
	first := newToken("z-first", "acme", t0)
	sameTime := newToken("b-same", "acme", t0)
	elsewhere := newToken("t1", "beta", t0)
	for _, tok := range []directory.Token{later, first, sameTime, elsewhere} {
		require.NoError(t, s.CreateToken(ctx, tok))
	}
	got, err := s.ListTokens(ctx, "acme")
	require.NoError(t, err)
	var ids []string
	for _, tok := range got {
		ids = append(ids, tok.ID)
	}
	require.Equal(t, []string{sameTime.ID, first.ID, later.ID}, ids, "oldest first, then by id")
	none, err := s.ListTokens(ctx, "gamma")
	require.NoError(t, err)
	require.Empty(t, none)
}

func testSetTokenStatus(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok := newToken("t1", "acme", t0)
	require.NoError(t, s.CreateToken(ctx, tok))
	at := t0.Add(time.Hour)
	require.NoError(t, s.SetTokenStatus(ctx, tok.ID, directory.TokenActive, directory.TokenRevoked, "user:alice", at))
	got, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, directory.TokenRevoked, got.Status)
	require.Equal(t, "user:alice", got.StatusBy)
	requireTime(t, at, got.StatusAt, "StatusAt")

	// Revoking again is a conflict naming the status; a missing token is not found.
	err = s.SetTokenStatus(ctx, tok.ID, directory.TokenActive, directory.TokenRevoked, "user:bob", at)
	require.ErrorIs(t, err, directory.ErrConflict)
	require.ErrorContains(t, err, "revoked")
	require.ErrorIs(t, s.SetTokenStatus(ctx, "acme/missing", directory.TokenActive, directory.TokenRevoked, "x", at), directory.ErrNotFound)
}

func testSetTokenStatusConcurrent(t *testing.T, s directory.Store) {
	ctx := context.Background()
	tok := newToken("t1", "acme", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	require.NoError(t, s.CreateToken(ctx, tok))
	winner := oneWins(t, 8, "revocation", func(i int) error {
		return s.SetTokenStatus(ctx, tok.ID, directory.TokenActive, directory.TokenRevoked, fmt.Sprintf("racer %d", i), time.Now())
	})
	got, err := s.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("racer %d", winner), got.StatusBy)
}
