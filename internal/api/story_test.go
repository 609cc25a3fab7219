package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// TestSeedStory runs the seeds' story through HTTP: a platform creates an
// account, the owner invites a billing colleague and a developer scoped to
// a tag, removes the colleague, and audits who can manage a product.
func TestSeedStory(t *testing.T) {
	c, _ := newTestAPI(t)

	// The platform creates acme for its host nordhost: a service actor, as
	// creating for a host needs its staff or a trusted service.
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	c.addProduct("user:alice", "acme", "shop", []string{"web"}, []string{"client-x"})
	c.addProduct("user:alice", "acme", "mail", nil, nil)

	products := ok[wire.ProductList](t, c.call("GET", "/v1/accounts/acme/products", "user:alice", nil), http.StatusOK)
	require.ElementsMatch(t, []hostaccess.Product{
		{ID: "acme/site", Name: "site"},
		{ID: "acme/shop", Name: "shop", Groups: []string{"web"}, Tags: []string{"client-x"}},
		{ID: "acme/mail", Name: "mail"},
	}, products.Products)

	// Alice invites carol for billing; carol accepts with her verified e-mail.
	link := c.invite("user:alice", "acme", "Carol@Example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.Equal(t, "carol@example.com", link.Invitation.Email)
	require.Equal(t, "pending", link.Invitation.Status)
	require.Equal(t, "https://panel.example.com/invite/"+link.Token, link.URL)
	require.NotEmpty(t, link.ZedToken)

	invs := ok[wire.InvitationList](t, c.call("GET", "/v1/accounts/acme/invitations", "user:alice", nil), http.StatusOK)
	require.Len(t, invs.Invitations, 1)
	require.Equal(t, link.Invitation.ID, invs.Invitations[0].ID)

	acc := c.accept(link.Token, "carol", "carol@example.com")
	require.Equal(t, "acme", acc.AccountID)
	require.Equal(t, []hostaccess.Right{hostaccess.RightBilling}, acc.Access.Rights)
	require.False(t, acc.Merged)

	sw := ok[hostaccess.SwitchList](t, c.call("GET", "/v1/users/carol/accounts", "user:carol", nil), http.StatusOK)
	require.Len(t, sw.Accounts, 1)
	require.Equal(t, "acme", sw.Accounts[0].ID)
	require.Equal(t, "Acme", sw.Accounts[0].Name)
	require.Equal(t, "billing", sw.Accounts[0].Summary)
	require.NotNil(t, sw.Single, "one account: the session goes straight to it")

	require.True(t, c.can("account:acme", "pay_invoices", "user:carol", acc.ZedToken))
	require.False(t, c.can("product:acme/site", "manage", "user:carol", ""))

	bulk := ok[wire.AnswerList](t, c.call("POST", "/v1/check-bulk", "", map[string]any{"checks": []hostaccess.Check{
		{Resource: "account:acme", Permission: "pay_invoices", Subject: "user:carol"},
		{Resource: "account:acme", Permission: "manage_users", Subject: "user:carol"},
	}}), http.StatusOK)
	require.Len(t, bulk.Answers, 2)
	require.True(t, bulk.Answers[0].Allowed)
	require.False(t, bulk.Answers[1].Allowed)
	require.Equal(t, "manage_users", bulk.Answers[1].Permission)

	// A developer for the products tagged client-x, now and later.
	c.join("user:alice", "acme", "dave", hostaccess.Access{Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
	require.True(t, c.can("product:acme/shop", "manage", "user:dave", ""))
	require.False(t, c.can("product:acme/site", "manage", "user:dave", ""))
	tagged := ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/products/site/tags/client-x", "user:alice", nil), http.StatusOK)
	require.True(t, c.can("product:acme/site", "manage", "user:dave", tagged.ZedToken), "a tag grant covers products tagged later")
	ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme/products/site/tags/client-x", "user:alice", nil), http.StatusOK)
	require.False(t, c.can("product:acme/site", "manage", "user:dave", ""), "untagging removes the reach")

	// Alice removes carol: the next check says no, with or without a token.
	removed := ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme/members/carol", "user:alice", nil), http.StatusOK)
	require.False(t, c.can("account:acme", "pay_invoices", "user:carol", ""))
	require.False(t, c.can("account:acme", "pay_invoices", "user:carol", removed.ZedToken))
	sw = ok[hostaccess.SwitchList](t, c.call("GET", "/v1/users/carol/accounts", "service", nil), http.StatusOK)
	require.Empty(t, sw.Accounts)
	require.NotNil(t, sw.Accounts, "an empty list is [], not null")

	// The auditor's questions.
	q := url.Values{"resource": {"product:acme/shop"}, "permission": {"manage"}}
	holders := ok[wire.HolderList](t, c.call("GET", "/v1/who-can?"+q.Encode(), "user:alice", nil), http.StatusOK)
	require.Equal(t, []hostaccess.Holder{
		{Subject: "user:alice", Reasons: []string{"account:acme#owner"}},
		{Subject: "user:dave", Reasons: []string{"tag:acme/client-x#technician"}},
	}, holders.Holders)

	reach := ok[hostaccess.AccessReport](t, c.call("GET", "/v1/users/dave/reach", "user:dave", nil), http.StatusOK)
	require.Equal(t, []string{"acme/shop"}, reach.Products)

	members := ok[wire.MemberList](t, c.call("GET", "/v1/accounts/acme/members", "user:alice", nil), http.StatusOK)
	require.Len(t, members.Members, 2)
	require.Equal(t, "alice", members.Members[0].UserID)
	require.True(t, members.Members[0].Owner)
	require.Equal(t, "alice@example.com", members.Members[0].Email)
	require.Equal(t, "dave", members.Members[1].UserID)
	require.Equal(t, []string{"client-x"}, members.Members[1].Access.Technical.Tags)

	log := ok[wire.AuditEntries](t, c.call("GET", "/v1/accounts/acme/audit?limit=100", "user:alice", nil), http.StatusOK)
	require.NotEmpty(t, log.Entries)
	require.Equal(t, "remove_member", log.Entries[0].Flow, "newest first")
	require.Equal(t, "user:alice", log.Entries[0].Actor)
	require.Equal(t, "user:carol", log.Entries[0].Target)
	oldest := log.Entries[len(log.Entries)-1]
	require.Equal(t, "create_account", oldest.Flow)
	require.Equal(t, "service:"+testCaller, oldest.Actor, "a service actor is audited under its key's name")

	page := ok[wire.AuditEntries](t, c.call("GET", "/v1/accounts/acme/audit?limit=1&before="+strconv.FormatInt(log.Entries[0].Seq, 10), "user:alice", nil), http.StatusOK)
	require.Len(t, page.Entries, 1)
	require.Equal(t, log.Entries[1].Seq, page.Entries[0].Seq)
}

// TestAccountAdministration covers the account routes the story does not:
// owners, transfer, delegation, the administrator cap, access edits,
// groups and closing.
func TestAccountAdministration(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	c.join("user:alice", "acme", "bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})

	// Groups: a group grant reaches the product while it is in the group.
	ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/products/site/groups/web", "user:alice", nil), http.StatusOK)
	ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/members/bob/access", "user:alice",
		hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}}}), http.StatusOK)
	require.True(t, c.can("product:acme/site", "manage", "user:bob", ""))
	require.False(t, c.can("account:acme", "open_ticket", "user:bob", ""), "SetAccess replaces the rights")
	ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme/products/site/groups/web", "user:alice", nil), http.StatusOK)
	require.False(t, c.can("product:acme/site", "manage", "user:bob", ""))

	// The host raises the cap; the platform may, being trusted.
	r := c.call("PUT", "/v1/accounts/acme/admin-cap", "service", map[string]any{"cap": 5})
	require.Equal(t, http.StatusNoContent, r.status)
	require.Empty(t, r.body)

	// Delegation to the host, then off again.
	ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/delegation", "user:alice", map[string]any{"enabled": true}), http.StatusOK)
	ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/delegation", "user:alice", map[string]any{"enabled": false}), http.StatusOK)

	// Alice hands acme over to bob and keeps read-only access.
	ok[hostaccess.Result](t, c.call("POST", "/v1/accounts/acme/transfer", "user:alice", map[string]any{
		"to": "bob", "keep": hostaccess.PresetReadOnly(),
	}), http.StatusOK)
	require.True(t, c.can("account:acme", "close", "user:bob", ""))
	require.False(t, c.can("account:acme", "close", "user:alice", ""))
	require.True(t, c.can("account:acme", "view_everything", "user:alice", ""))

	// Bob makes alice an owner again, then the platform closes the account.
	ok[hostaccess.Result](t, c.call("POST", "/v1/accounts/acme/owners", "user:bob", map[string]any{"user_id": "alice"}), http.StatusOK)
	require.True(t, c.can("account:acme", "close", "user:alice", ""))
	ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme", "service", nil), http.StatusOK)
	require.False(t, c.can("account:acme", "view", "user:alice", ""))
	problem(t, c.call("GET", "/v1/accounts/acme/members", "service", nil), http.StatusNotFound, "not_found")
}

// TestContacts covers contacts, whose ids carry a slash in the path.
func TestContacts(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")

	created := ok[wire.ContactCreated](t, c.call("POST", "/v1/accounts/acme/contacts", "user:alice", hostaccess.ContactInput{
		Name: "Dana", Email: "Dana@Example.com", Notifications: []hostaccess.Category{hostaccess.CategoryBilling},
	}), http.StatusCreated)
	require.Regexp(t, `^acme/`, created.Contact.ID)
	require.Equal(t, "dana@example.com", created.Contact.Email)
	require.NotEmpty(t, created.ZedToken)

	rcpt := ok[wire.RecipientList](t, c.call("GET", "/v1/accounts/acme/recipients?category=billing", "user:alice", nil), http.StatusOK)
	require.ElementsMatch(t, []hostaccess.Recipient{
		{Kind: "user", ID: "alice", Name: "alice", Email: "alice@example.com"},
		{Kind: "contact", ID: created.Contact.ID, Name: "Dana", Email: "dana@example.com"},
	}, rcpt.Recipients)

	tests := []struct {
		name string
		path string
	}{
		{"short name", "/v1/accounts/acme/contacts/" + strings.TrimPrefix(created.Contact.ID, "acme/")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok[hostaccess.Result](t, c.call("PUT", tc.path, "user:alice", hostaccess.ContactInput{
				Name: "Dana " + tc.name, Email: "dana@example.com", SupportAccess: true,
			}), http.StatusOK)
			list := ok[wire.ContactList](t, c.call("GET", "/v1/accounts/acme/contacts", "user:alice", nil), http.StatusOK)
			require.Len(t, list.Contacts, 1)
			require.Equal(t, "Dana "+tc.name, list.Contacts[0].Name)
			require.True(t, list.Contacts[0].SupportAccess)
			require.Empty(t, list.Contacts[0].Notifications, "an update replaces the subscriptions")
		})
	}

	// The full id is not a path: one segment is the short name.
	problem(t, c.call("DELETE", "/v1/accounts/acme/contacts/"+created.Contact.ID, "user:alice", nil), http.StatusNotFound, "not_found")

	ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme/contacts/"+strings.TrimPrefix(created.Contact.ID, "acme/"), "user:alice", nil), http.StatusOK)
	list := ok[wire.ContactList](t, c.call("GET", "/v1/accounts/acme/contacts", "user:alice", nil), http.StatusOK)
	require.NotNil(t, list.Contacts)
	require.Empty(t, list.Contacts)
	problem(t, c.call("DELETE", "/v1/accounts/acme/contacts/"+strings.TrimPrefix(created.Contact.ID, "acme/"), "user:alice", nil), http.StatusNotFound, "not_found")
}
