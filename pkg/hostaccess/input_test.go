package hostaccess_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Bad text is refused by the domain with invalid_argument naming the
// field, before anything is written: the same on every store (these tests
// run on Postgres too when HOSTACCESS_TEST_POSTGRES_URI is set, where a NUL
// byte used to come back as "unavailable").

var badTexts = []struct {
	name, value, detail string
}{
	{"a NUL byte", "Acme\x00Corp", "control character U+0000"},
	{"invalid UTF-8", "Acme\xff", "not valid UTF-8"},
	{"a newline", "Acme\nCorp", "control character U+000A"},
	{"500 KB", strings.Repeat("a", 500<<10), "at most"},
}

func TestAccountTextIsChecked(t *testing.T) {
	f := newFixture(t)
	for _, field := range []struct {
		name string
		set  func(*hostaccess.NewAccount, string)
	}{
		{"account name", func(a *hostaccess.NewAccount, v string) { a.Name = v }},
		{"owner name", func(a *hostaccess.NewAccount, v string) { a.OwnerName = v }},
		{"owner e-mail", func(a *hostaccess.NewAccount, v string) { a.OwnerEmail = v + "@example.com" }},
	} {
		for _, bad := range badTexts {
			t.Run(field.name+" with "+bad.name, func(t *testing.T) {
				in := hostaccess.NewAccount{ID: "beta", OwnerID: "bob", HostID: "nordhost"}
				field.set(&in, bad.value)
				_, err := f.svc.CreateAccount(ctx, service, in)
				requireCode(t, err, "invalid_argument")
				require.Contains(t, err.Error(), field.name)
				require.Contains(t, err.Error(), bad.detail)
				require.Less(t, len(err.Error()), 300, "the error does not echo the input")
				_, err = f.svc.ListMembers(ctx, service, "beta")
				requireCode(t, err, "not_found") // nothing written
			})
		}
	}
	t.Run("at the limits", func(t *testing.T) {
		name := strings.Repeat("é", hostaccess.MaxNameLen) // characters, not bytes
		email := strings.Repeat("a", hostaccess.MaxEmailLen-len("@example.com")) + "@example.com"
		_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{
			ID: strings.Repeat("b", hostaccess.MaxIDLen), Name: "  " + name + "  ", OwnerID: "bob",
			OwnerName: "Bob Ünïcode 日本", OwnerEmail: email, HostID: "nordhost",
		})
		require.NoError(t, err)
	})
	t.Run("one past the limits", func(t *testing.T) {
		_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "gamma", Name: strings.Repeat("x", hostaccess.MaxNameLen+1), OwnerID: "bob", HostID: "nordhost"})
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "account name is 201 characters long: at most 200")
		email := strings.Repeat("a", hostaccess.MaxEmailLen+1-len("@example.com")) + "@example.com"
		_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "gamma", OwnerID: "bob", OwnerEmail: email, HostID: "nordhost"})
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "at most 254")
		_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: strings.Repeat("g", hostaccess.MaxIDLen+1), OwnerID: "bob", HostID: "nordhost"})
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "account id")
	})
}

func TestContactTextIsChecked(t *testing.T) {
	f := newFixture(t)
	good := hostaccess.ContactInput{Name: "Dana", Email: "dana@example.com", Phone: "+41 22 000 00 00"}
	for _, field := range []struct {
		name string
		set  func(*hostaccess.ContactInput, string)
	}{
		{"contact name", func(c *hostaccess.ContactInput, v string) { c.Name = v }},
		{"contact e-mail", func(c *hostaccess.ContactInput, v string) { c.Email = "d" + v + "@example.com" }},
		{"contact phone", func(c *hostaccess.ContactInput, v string) { c.Phone = v }},
	} {
		for _, bad := range badTexts {
			t.Run(field.name+" with "+bad.name, func(t *testing.T) {
				in := good
				field.set(&in, bad.value)
				_, _, err := f.svc.AddContact(ctx, alice, "acme", in)
				requireCode(t, err, "invalid_argument")
				require.Contains(t, err.Error(), field.name)
				require.Contains(t, err.Error(), bad.detail)
			})
		}
	}
	contacts, err := f.svc.ListContacts(ctx, alice, "acme")
	require.NoError(t, err)
	require.Empty(t, contacts, "nothing written")

	c, _, err := f.svc.AddContact(ctx, alice, "acme", good)
	require.NoError(t, err)
	bad := good
	bad.Phone = strings.Repeat("1", hostaccess.MaxPhoneLen+1)
	_, err = f.svc.UpdateContact(ctx, alice, "acme", c.ID, bad)
	requireCode(t, err, "invalid_argument")
	require.Contains(t, err.Error(), "contact phone is 51 characters long: at most 50")
	contacts, err = f.svc.ListContacts(ctx, alice, "acme")
	require.NoError(t, err)
	require.Equal(t, []hostaccess.Contact{c}, contacts, "unchanged")
}

// TestPathIDsAreChecked: ids that go straight to the directory or the
// engine are checked first.
func TestPathIDsAreChecked(t *testing.T) {
	f := newFixture(t)
	c, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Dana", Email: "dana@example.com"})
	require.NoError(t, err)
	link, err := f.svc.Invite(ctx, alice, "acme", "erin@example.com", hostaccess.Access{})
	require.NoError(t, err)

	for _, id := range []string{"acme/\x00", "acme/0123456789abcde\xff", "acme/NOPE", "acme", "acme/0123456789abcdef/x", strings.Repeat("a", 500<<10)} {
		_, err := f.svc.RevokeInvitation(ctx, alice, id)
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "invitation id")
		_, err = f.svc.RegenerateInvitation(ctx, alice, id)
		requireCode(t, err, "invalid_argument")
		_, err = f.svc.RemoveContact(ctx, alice, "acme", id)
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "contact id")
		_, err = f.svc.UpdateContact(ctx, alice, "acme", id, hostaccess.ContactInput{Name: "X", Email: "x@example.com"})
		requireCode(t, err, "invalid_argument")
	}
	for _, user := range []string{"bob\x00", "b\xffb", "a/b", strings.Repeat("u", hostaccess.MaxIDLen+1)} {
		_, err := f.svc.SetAccess(ctx, alice, "acme", user, hostaccess.Access{})
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "user id")
		_, err = f.svc.RemoveMember(ctx, alice, "acme", user)
		requireCode(t, err, "invalid_argument")
		_, err = f.svc.AddOwner(ctx, alice, "acme", user)
		requireCode(t, err, "invalid_argument")
		_, err = f.svc.TransferOwnership(ctx, alice, "acme", user, nil)
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "new owner id")
		_, err = f.svc.CloseAccount(ctx, service, user)
		requireCode(t, err, "invalid_argument")
	}

	// Well-formed ids that name nothing are not found; the real ones work.
	_, err = f.svc.RevokeInvitation(ctx, alice, "acme/0123456789abcdef")
	requireCode(t, err, "not_found")
	_, err = f.svc.RemoveContact(ctx, alice, "acme", "acme/0123456789abcdef")
	requireCode(t, err, "not_found")
	_, err = f.svc.RevokeInvitation(ctx, alice, link.Invitation.ID)
	require.NoError(t, err)
	_, err = f.svc.RemoveContact(ctx, alice, "acme", c.ID)
	require.NoError(t, err)
}

func TestLoginTextIsChecked(t *testing.T) {
	f := newFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	for _, bad := range badTexts {
		t.Run("display name with "+bad.name, func(t *testing.T) {
			l := login("carol")
			l.Email = "carol@example.com"
			l.DisplayName = bad.value
			_, err := f.svc.AcceptInvitation(ctx, link.Token, l)
			requireCode(t, err, "invalid_argument")
			require.Contains(t, err.Error(), "display name")
			require.Contains(t, err.Error(), bad.detail)
		})
	}
	_, err = f.svc.AcceptInvitation(ctx, link.Token+"\x00", login("carol"))
	requireCode(t, err, "invalid_argument")
	require.Contains(t, err.Error(), "invitation token")
	_, err = f.svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "carol", Email: "carol\x00@example.com", EmailVerified: true})
	requireCode(t, err, "invalid_argument")
	require.Contains(t, err.Error(), "login e-mail")
	_, err = f.svc.Invite(ctx, alice, "acme", "x\xff@example.com", hostaccess.Access{})
	requireCode(t, err, "invalid_argument")
	require.Contains(t, err.Error(), "e-mail address is not valid UTF-8")

	// The invitation is still pending: a good login accepts it.
	l := login("carol")
	l.DisplayName = "Carol Ünïcode"
	_, err = f.svc.AcceptInvitation(ctx, link.Token, l)
	require.NoError(t, err)
	members, err := f.svc.ListMembers(ctx, alice, "acme")
	require.NoError(t, err)
	require.Equal(t, "Carol Ünïcode", members[len(members)-1].DisplayName)
}

// TestExpiriesMustBeInTheFuture: a grant's expiry in the past (or absurdly
// far) is refused by every flow that grants, before anything is written.
func TestExpiriesMustBeInTheFuture(t *testing.T) {
	f := newFixture(t)
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	now := f.clock.Now()
	at := func(t time.Time) hostaccess.Access {
		return hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &t}
	}
	refused := []struct {
		name   string
		at     time.Time
		detail string
	}{
		{"year 0001", time.Time{}, "0001-01-01T00:00:00Z is not in the future"},
		{"2001", time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC), "2001-09-09T01:46:40Z is not in the future"},
		{"now", now, "is not in the future"},
		{"past 10 years", now.Add(hostaccess.MaxExpiry + time.Hour), "more than 10 years away"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Invite(ctx, alice, "acme", "dave@example.com", at(tc.at))
			requireCode(t, err, "invalid_argument")
			require.Contains(t, err.Error(), "expires_at ")
			require.Contains(t, err.Error(), tc.detail)
			_, err = f.svc.SetAccess(ctx, alice, "acme", "carol", at(tc.at))
			requireCode(t, err, "invalid_argument")
			require.Contains(t, err.Error(), "expires_at")
			keep := at(tc.at)
			_, err = f.svc.TransferOwnership(ctx, alice, "acme", "carol", &keep)
			requireCode(t, err, "invalid_argument")
		})
	}
	invs, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, invs, 1, "nothing written: carol's accepted invitation only")
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))

	// Tomorrow, and just under ten years, are fine.
	_, err = f.svc.Invite(ctx, alice, "acme", "dave@example.com", at(now.Add(24*time.Hour)))
	require.NoError(t, err)
	_, err = f.svc.SetAccess(ctx, alice, "acme", "carol", at(now.Add(hostaccess.MaxExpiry-time.Hour)))
	require.NoError(t, err)
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
}
