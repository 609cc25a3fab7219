package directorytest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func testPeople(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetPerson(ctx, "user:nobody")
	require.ErrorIs(t, err, directory.ErrNotFound)

	p := directory.Person{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: now()}
	require.NoError(t, s.PutPerson(ctx, p))
	got, err := s.GetPerson(ctx, p.UserID)
	require.NoError(t, err)
	requirePerson(t, p, got)

	// Put replaces.
	p.Email, p.DisplayName, p.UpdatedAt = "carol@example.org", "Carol C.", now().Add(time.Second)
	require.NoError(t, s.PutPerson(ctx, p))
	got, err = s.GetPerson(ctx, p.UserID)
	require.NoError(t, err)
	requirePerson(t, p, got)
}

func testGetPeople(t *testing.T, s directory.Store) {
	ctx := t.Context()
	c := directory.Person{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: now()}
	d := directory.Person{UserID: "user:dave", Email: "dave@example.com", DisplayName: "Dave", UpdatedAt: now()}
	require.NoError(t, s.PutPerson(ctx, c))
	require.NoError(t, s.PutPerson(ctx, d))

	got, err := s.GetPeople(ctx, []string{"user:carol", "user:missing", "user:dave"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requirePerson(t, c, got["user:carol"])
	requirePerson(t, d, got["user:dave"])

	got, err = s.GetPeople(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
