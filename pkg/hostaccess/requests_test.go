package hostaccess_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

var (
	carol = hostaccess.Person("carol")
	bob   = hostaccess.Person("bob")
	dave  = hostaccess.Person("dave")
)

func rights(rs ...hostaccess.Right) hostaccess.Access { return hostaccess.Access{Rights: rs} }

// ask files a request as who and requires it to be recorded.
func (f *fixture) ask(who hostaccess.Actor, in hostaccess.AccessRequestInput) hostaccess.AccessRequest {
	f.t.Helper()
	r, res, err := f.svc.RequestAccess(ctx, who, "acme", in)
	require.NoError(f.t, err)
	require.NotEmpty(f.t, res.ZedToken)
	return r
}

// auditOf lists the applied entries of one flow on acme, newest first.
func (f *fixture) auditOf(flow string) []hostaccess.AuditEntry {
	f.t.Helper()
	entries, err := f.svc.AuditLog(ctx, alice, hostaccess.AuditQuery{AccountID: "acme", Flow: flow})
	require.NoError(f.t, err)
	var out []hostaccess.AuditEntry
	for _, e := range entries {
		if e.Outcome == "applied" {
			out = append(out, e)
		}
	}
	return out
}

func requestIDs(rs []hostaccess.AccessRequest) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// The story of the feature: a member asks, the owner sees it and approves,
// and the member then holds exactly what was asked on top of what they had.
func TestAccessRequestApprovedGrantsExactlyWhatWasAsked(t *testing.T) {
	f := newFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"mail"}}})
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))

	asked := f.ask(carol, hostaccess.AccessRequestInput{
		Access: hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{"site"}}},
		Reason: "  I now handle the invoices and the web site  ",
	})
	require.Equal(t, "pending", asked.Status)
	require.Equal(t, "carol", asked.UserID)
	require.Equal(t, "I now handle the invoices and the web site", asked.Reason, "trimmed")
	require.Equal(t, []hostaccess.Right{hostaccess.RightBilling}, asked.Access.Rights, "what carol already holds is not asked again")
	require.Equal(t, []string{"site"}, asked.Access.Technical.Products)
	require.Equal(t, f.clock.Now().Add(7*24*time.Hour).Truncate(time.Second), asked.ExpiresAt)

	// The owner sees every request; carol her own; dave, another member, none of hers.
	all, err := f.svc.ListAccessRequests(ctx, alice, "acme", "pending")
	require.NoError(t, err)
	require.Equal(t, []string{asked.ID}, requestIDs(all))
	mine, err := f.svc.ListAccessRequests(ctx, carol, "acme", "")
	require.NoError(t, err)
	require.Equal(t, []string{asked.ID}, requestIDs(mine))
	theirs, err := f.svc.ListAccessRequests(ctx, dave, "acme", "")
	require.NoError(t, err)
	require.Empty(t, theirs)
	_, err = f.svc.ListAccessRequests(ctx, hostaccess.Person("mallory"), "acme", "")
	requireCode(t, err, "forbidden")
	// Asking changed nothing yet.
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))

	decided, res, err := f.svc.ApproveAccessRequest(ctx, alice, "acme", asked.ID, "for the Q3 audit")
	require.NoError(t, err)
	require.NotEmpty(t, res.ZedToken)
	require.Equal(t, "approved", decided.Status)
	require.Equal(t, "user:alice", decided.DecidedBy)
	require.Equal(t, "for the Q3 audit", decided.Note)

	// Exactly what was asked, on top of what she had; nothing more.
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.True(t, f.can("user:carol", "product:acme/site", "manage"))
	require.True(t, f.can("user:carol", "account:acme", "open_ticket"), "kept")
	require.False(t, f.can("user:carol", "product:acme/shop", "manage"))
	require.False(t, f.can("user:carol", "account:acme", "manage_users"))
	require.False(t, f.can("user:carol", "account:acme", "manage_domains"))

	listed, err := f.svc.ListAccessRequests(ctx, carol, "acme", "approved")
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, "approved", listed[0].Status)
	require.NotNil(t, listed[0].DecidedAt)
	pending, err := f.svc.ListAccessRequests(ctx, alice, "acme", "pending")
	require.NoError(t, err)
	require.Empty(t, pending)

	// Both flows are in the audit log, with who and what.
	created := f.auditOf("request_access")
	require.Len(t, created, 1)
	require.Equal(t, "user:carol", created[0].Actor)
	require.Equal(t, "request:"+asked.ID, created[0].Target)
	require.Contains(t, string(created[0].After), "I now handle the invoices")
	approved := f.auditOf("approve_request")
	require.Len(t, approved, 1)
	require.Equal(t, "user:alice", approved[0].Actor)
	require.Equal(t, "request:"+asked.ID, approved[0].Target)
	var after struct {
		User   string            `json:"user"`
		Access hostaccess.Access `json:"access"`
	}
	require.NoError(t, json.Unmarshal(approved[0].After, &after))
	require.Equal(t, "carol", after.User)
	require.Equal(t, []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightSupport}, after.Access.Rights)

	// The access review names the approver as the one who granted it.
	rv, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	var billing *hostaccess.ReviewLine
	for i, l := range rv.Lines {
		if l.UserID == "carol" && l.Right == "billing" {
			billing = &rv.Lines[i]
		}
	}
	require.NotNil(t, billing)
	require.Equal(t, "user:alice", billing.GrantedBy)
}

func TestAccessRequestRefusedInputs(t *testing.T) {
	f := newFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	billing := rights(hostaccess.RightBilling)
	later := time.Now().Add(48 * time.Hour)
	for _, tc := range []struct {
		name  string
		actor hostaccess.Actor
		in    hostaccess.AccessRequestInput
		code  string
	}{
		{"a stranger", hostaccess.Person("mallory"), hostaccess.AccessRequestInput{Access: billing, Reason: "let me in"}, "forbidden"},
		{"the owner", alice, hostaccess.AccessRequestInput{Access: billing, Reason: "why not"}, "owner_holds_every_right"},
		{"a service", service, hostaccess.AccessRequestInput{Access: billing, Reason: "for carol"}, "invalid_argument"},
		{"what she holds", carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightSupport), Reason: "again"}, "invalid_argument"},
		{"nothing", carol, hostaccess.AccessRequestInput{Reason: "nothing"}, "invalid_argument"},
		{"a product that does not exist", carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"nope"}}}, Reason: "r"}, "not_found"},
		{"a tag that does not exist", carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{View: hostaccess.ProductScope{Tags: []string{"nope"}}}, Reason: "r"}, "not_found"},
		{"an unknown right", carol, hostaccess.AccessRequestInput{Access: rights("everything"), Reason: "r"}, "invalid_argument"},
		{"a bad product name", carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"../x"}}}, Reason: "r"}, "invalid_argument"},
		{"an expiry", carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &later}, Reason: "r"}, "invalid_argument"},
		{"notifications", carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{Notifications: []hostaccess.Category{hostaccess.CategoryBilling}}, Reason: "r"}, "invalid_argument"},
		{"no reason", carol, hostaccess.AccessRequestInput{Access: billing}, "invalid_argument"},
		{"a blank reason", carol, hostaccess.AccessRequestInput{Access: billing, Reason: " \u00a0 "}, "invalid_argument"},
		{"a huge reason", carol, hostaccess.AccessRequestInput{Access: billing, Reason: strings.Repeat("é", hostaccess.MaxReasonLen+1)}, "invalid_argument"},
		{"a NUL in the reason", carol, hostaccess.AccessRequestInput{Access: billing, Reason: "pay\x00ments"}, "invalid_argument"},
		{"a newline in the reason", carol, hostaccess.AccessRequestInput{Access: billing, Reason: "line\nbreak"}, "invalid_argument"},
		{"invalid UTF-8", carol, hostaccess.AccessRequestInput{Access: billing, Reason: "\xff\xfe"}, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.RequestAccess(ctx, tc.actor, "acme", tc.in)
			requireCode(t, err, tc.code)
		})
	}
	_, _, err := f.svc.RequestAccess(ctx, carol, "nope", hostaccess.AccessRequestInput{Access: billing, Reason: "r"})
	requireCode(t, err, "forbidden")
	// The longest reason allowed is fine.
	f.ask(carol, hostaccess.AccessRequestInput{Access: billing, Reason: strings.Repeat("é", hostaccess.MaxReasonLen)})

	all, err := f.svc.ListAccessRequests(ctx, alice, "acme", "")
	require.NoError(t, err)
	require.Len(t, all, 1, "no refused request was recorded")
	require.Len(t, f.auditOf("request_access"), 1, "nor audited")
	_, err = f.svc.ListAccessRequests(ctx, alice, "acme", "lost")
	requireCode(t, err, "invalid_argument")
}

// Approving is granting: only within what the approver holds, never their
// own request, only by those who manage users.
func TestApprovingFollowsTheGrantRules(t *testing.T) {
	f := newFixture(t)
	f.member("bob", rights(hostaccess.RightUserManagement, hostaccess.RightBilling))
	f.member("carol", rights(hostaccess.RightSupport))
	f.member("dave", rights(hostaccess.RightSupport))

	domains := f.ask(carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightDomains), Reason: "renewals"})
	_, _, err := f.svc.ApproveAccessRequest(ctx, bob, "acme", domains.ID, "")
	requireCode(t, err, "escalation")
	require.False(t, f.can("user:carol", "account:acme", "manage_domains"), "no escalation")

	_, _, err = f.svc.ApproveAccessRequest(ctx, dave, "acme", domains.ID, "")
	requireCode(t, err, "forbidden")
	_, _, err = f.svc.RefuseAccessRequest(ctx, dave, "acme", domains.ID, "")
	requireCode(t, err, "forbidden")
	_, err = f.svc.ListAccessRequests(ctx, dave, "acme", "")
	require.NoError(t, err, "a member lists their own")

	// Bob holds billing: he may grant it.
	pay := f.ask(carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "invoices"})
	_, _, err = f.svc.ApproveAccessRequest(ctx, bob, "acme", pay.ID, "")
	require.NoError(t, err)
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))

	// Bob asks for domains himself; he cannot approve it, alice can.
	own := f.ask(bob, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightDomains), Reason: "mine"})
	_, _, err = f.svc.ApproveAccessRequest(ctx, bob, "acme", own.ID, "")
	requireCode(t, err, "escalation")
	require.False(t, f.can("user:bob", "account:acme", "manage_domains"))
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", own.ID, "")
	require.NoError(t, err)
	require.True(t, f.can("user:bob", "account:acme", "manage_domains"))

	// The administrator cap holds for approvals too.
	err = f.svc.SetAdminCap(ctx, service, "acme", 1)
	require.NoError(t, err)
	f.member("erin", hostaccess.Access{Administrator: true})
	admin := f.ask(carol, hostaccess.AccessRequestInput{Access: hostaccess.Access{Administrator: true}, Reason: "cover"})
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", admin.ID, "")
	requireCode(t, err, "admin_cap_reached")

	// Unknown and malformed ids, and another account's request.
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", "acme/0123456789abcdef", "")
	requireCode(t, err, "not_found")
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", "../x", "")
	requireCode(t, err, "invalid_argument")
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "other", pay.ID, "")
	requireCode(t, err, "forbidden")
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", admin.ID, "bad\x00note")
	requireCode(t, err, "invalid_argument")
}

func TestDecidedOrLapsedRequestsChangeNothing(t *testing.T) {
	f := newFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	billing := hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "invoices"}

	refused := f.ask(carol, billing)
	out, _, err := f.svc.RefuseAccessRequest(ctx, alice, "acme", refused.ID, "ask bob")
	require.NoError(t, err)
	require.Equal(t, "refused", out.Status)
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"), "a refusal grants nothing")
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", refused.ID, "")
	requireCode(t, err, "request_not_pending")
	_, _, err = f.svc.RefuseAccessRequest(ctx, alice, "acme", refused.ID, "")
	requireCode(t, err, "request_not_pending")
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))

	approved := f.ask(carol, billing)
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", approved.ID, "")
	require.NoError(t, err)
	_, _, err = f.svc.RefuseAccessRequest(ctx, alice, "acme", approved.ID, "")
	requireCode(t, err, "request_not_pending")
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"), "a late refusal takes nothing back")

	lapsing := f.ask(carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightDomains), Reason: "names"})
	f.clock.Advance(7*24*time.Hour + time.Second)
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", lapsing.ID, "")
	requireCode(t, err, "request_expired")
	_, _, err = f.svc.RefuseAccessRequest(ctx, alice, "acme", lapsing.ID, "")
	requireCode(t, err, "request_expired")
	require.False(t, f.can("user:carol", "account:acme", "manage_domains"))
	expired, err := f.svc.ListAccessRequests(ctx, alice, "acme", "expired")
	require.NoError(t, err)
	require.Equal(t, []string{lapsing.ID}, requestIDs(expired))
	pending, err := f.svc.ListAccessRequests(ctx, alice, "acme", "pending")
	require.NoError(t, err)
	require.Empty(t, pending)

	require.Len(t, f.auditOf("refuse_request"), 1)
	require.Len(t, f.auditOf("approve_request"), 1)
	require.Len(t, f.auditOf("request_access"), 3)
}

// Two approvers at once, or an approver and a refuser: exactly one decision
// applies.
func TestRacingDecisionsOneWins(t *testing.T) {
	f := newFixture(t)
	f.member("bob", rights(hostaccess.RightUserManagement, hostaccess.RightBilling))
	f.member("carol", rights(hostaccess.RightSupport))

	for round, decide := range []func(i int, id string) error{
		func(i int, id string) error { // two approvers
			_, _, err := f.svc.ApproveAccessRequest(ctx, []hostaccess.Actor{alice, bob}[i%2], "acme", id, "")
			return err
		},
		func(i int, id string) error { // an approver and a refuser
			if i%2 == 0 {
				_, _, err := f.svc.ApproveAccessRequest(ctx, alice, "acme", id, "")
				return err
			}
			_, _, err := f.svc.RefuseAccessRequest(ctx, bob, "acme", id, "")
			return err
		},
	} {
		r := f.ask(carol, hostaccess.AccessRequestInput{Access: rights([]hostaccess.Right{hostaccess.RightBilling, hostaccess.RightProfile}[round]), Reason: "race"})
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = decide(i, r.ID) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			require.Contains(t, []string{"request_not_pending", "conflict"}, hostaccess.Code(err), "error: %v", err)
		}
		require.Equal(t, 1, wins, "round %d: exactly one decision applies", round)

		all, err := f.svc.ListAccessRequests(ctx, alice, "acme", "")
		require.NoError(t, err)
		var status string
		for _, l := range all {
			if l.ID == r.ID {
				status = l.Status
			}
		}
		decisions := len(f.auditOf("approve_request")) + len(f.auditOf("refuse_request"))
		require.Equal(t, round+1, decisions, "one decision audited per request")
		if round == 0 {
			require.Equal(t, "approved", status)
			require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
		} else {
			require.Equal(t, status == "approved", f.can("user:carol", "account:acme", "edit_profile"), "the grant is there iff the approval won")
		}
	}
}

// A requester who left cannot be granted anything: the approval fails and
// the request stays pending, to be refused or to lapse.
func TestApprovingForAFormerMemberFails(t *testing.T) {
	f := newFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	r := f.ask(carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "invoices"})
	_, err := f.svc.RemoveMember(ctx, alice, "acme", "carol")
	require.NoError(t, err)

	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", r.ID, "")
	requireCode(t, err, "not_found")
	require.Contains(t, err.Error(), "no longer a member")
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.False(t, f.can("user:carol", "account:acme", "access"), "approving never brings a member back")
	pending, err := f.svc.ListAccessRequests(ctx, alice, "acme", "pending")
	require.NoError(t, err)
	require.Equal(t, []string{r.ID}, requestIDs(pending))
	_, _, err = f.svc.RefuseAccessRequest(ctx, alice, "acme", r.ID, "left")
	require.NoError(t, err)
}

func TestPendingRequestsAreBounded(t *testing.T) {
	f := newFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	in := hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "please"}
	for range hostaccess.MaxPendingRequests {
		f.ask(carol, in)
	}
	_, _, err := f.svc.RequestAccess(ctx, carol, "acme", in)
	requireCode(t, err, "conflict")

	// Lapsed ones no longer count.
	f.clock.Advance(7*24*time.Hour + time.Second)
	f.ask(carol, in)
}

// requestRecords reads the stored records of acme's requests.
func requestRecords(t *testing.T, d directory.Store) []directory.AccessRequest {
	t.Helper()
	recs, err := d.ListAccessRequests(context.Background(), "acme", directory.AccessRequestFilter{})
	require.NoError(t, err)
	return recs
}

func (d *faultyDirectory) CreateAccessRequest(ctx context.Context, r directory.AccessRequest) error {
	if d.failFollowUps.Load() {
		return errInjected
	}
	return d.Store.CreateAccessRequest(ctx, r)
}

func (d *faultyDirectory) SetAccessRequestStatus(ctx context.Context, id string, from, to directory.AccessRequestStatus, by string, at time.Time, note string) error {
	if d.failFollowUps.Load() {
		return errInjected
	}
	return d.Store.SetAccessRequestStatus(ctx, id, from, to, by, at, note)
}

// A crash between a request's write and its record: the request is never
// listed without its audit entry, and recovery records it; the same for an
// approval, which recovery marks approved only because its grant applied.
func TestRequestFlowsRecoverAfterACrash(t *testing.T) {
	f := newFaultyFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))

	f.dir.failFollowUps.Store(true)
	asked, _, err := f.svc.RequestAccess(ctx, carol, "acme", hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "invoices"})
	require.NoError(t, err, "acknowledged: the request's marker is in SpiceDB")
	f.dir.failFollowUps.Store(false)
	require.Empty(t, requestRecords(t, f.dir), "not listed before its record")
	require.Equal(t, 1, f.auditFlows()["request_access:intent"])
	require.Equal(t, 1, f.recover())
	recs := requestRecords(t, f.dir)
	require.Len(t, recs, 1)
	require.Equal(t, asked.ID, recs[0].ID)
	require.Equal(t, directory.AccessRequestPending, recs[0].Status)
	require.Equal(t, 1, f.auditFlows()["request_access:applied"])

	f.dir.failFollowUps.Store(true)
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", asked.ID, "ok")
	require.NoError(t, err, "acknowledged: the grant is in SpiceDB")
	f.dir.failFollowUps.Store(false)
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.Equal(t, directory.AccessRequestPending, requestRecords(t, f.dir)[0].Status, "the record follows the write")
	// Deciding again is refused cleanly meanwhile: the marker is gone.
	_, _, err = f.svc.RefuseAccessRequest(ctx, alice, "acme", asked.ID, "")
	requireCode(t, err, "request_not_pending")

	require.Equal(t, 1, f.recover())
	rec := requestRecords(t, f.dir)[0]
	require.Equal(t, directory.AccessRequestApproved, rec.Status)
	require.Equal(t, "user:alice", rec.DecidedBy)
	require.Equal(t, "ok", rec.Note)
	flows := f.auditFlows()
	require.Equal(t, 1, flows["approve_request:applied"])
	require.Zero(t, flows["approve_request:intent"])
	require.Zero(t, flows["refuse_request:applied"], "the lost refusal is not in the log")
}

// A write that never reached SpiceDB leaves nothing: no request, no grant.
func TestRequestWriteLostBeforeSpiceDB(t *testing.T) {
	f := newFaultyFixture(t)
	f.member("carol", rights(hostaccess.RightSupport))
	asked := f.ask(carol, hostaccess.AccessRequestInput{Access: rights(hostaccess.RightBilling), Reason: "invoices"})

	f.engine.mode.Store(writeFailsBefore)
	_, _, err := f.svc.ApproveAccessRequest(ctx, alice, "acme", asked.ID, "")
	requireCode(t, err, "unavailable")
	require.False(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.Equal(t, 1, f.recover())
	require.Equal(t, directory.AccessRequestPending, requestRecords(t, f.dir)[0].Status, "still pending: the grant never applied")
	require.Zero(t, f.auditFlows()["approve_request:applied"])

	// It can still be approved.
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", asked.ID, "")
	require.NoError(t, err)
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
}
