package hostaccess_test

import (
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// narrowing is a flow that removes or narrows access: grant establishes the
// access and returns the question that shows it; narrow takes it away.
type narrowing struct {
	name   string
	rounds int // 3 unless the flow can run only once
	setup  func(f *fixture)
	grant  func(f *fixture, round int) hostaccess.Check
	narrow func(f *fixture, round int)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}

func check(subject, resource, permission string) hostaccess.Check {
	return hostaccess.Check{Subject: subject, Resource: resource, Permission: permission}
}

var billing = hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}

func narrowings() []narrowing {
	var invitationID string
	var contactID string
	owners := []string{"alice", "gus"}
	return []narrowing{{
		name: "remove member",
		grant: func(f *fixture, _ int) hostaccess.Check {
			f.member("carol", billing)
			return check("user:carol", "account:acme", "pay_invoices")
		},
		narrow: func(f *fixture, _ int) { must[hostaccess.Result](f.t)(f.svc.RemoveMember(ctx, alice, "acme", "carol")) },
	}, {
		name:  "set access: a product taken out of the technical scope",
		setup: func(f *fixture) { f.member("carol", billing) },
		grant: func(f *fixture, _ int) hostaccess.Check {
			must[hostaccess.Result](f.t)(f.svc.SetAccess(ctx, alice, "acme", "carol", hostaccess.Access{
				Rights: billing.Rights, Technical: hostaccess.ProductScope{Products: []string{"site"}},
			}))
			return check("user:carol", "product:acme/site", "manage")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.SetAccess(ctx, alice, "acme", "carol", billing))
		},
	}, {
		name: "untag a product",
		setup: func(f *fixture) {
			f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
		},
		grant: func(f *fixture, _ int) hostaccess.Check {
			must[hostaccess.Result](f.t)(f.svc.SetProductTag(ctx, alice, "acme", "site", "client-x", true))
			return check("user:dave", "product:acme/site", "manage")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.SetProductTag(ctx, alice, "acme", "site", "client-x", false))
		},
	}, {
		name: "take a product out of a group",
		setup: func(f *fixture) {
			f.member("erin", hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}}})
		},
		grant: func(f *fixture, _ int) hostaccess.Check {
			must[hostaccess.Result](f.t)(f.svc.SetProductGroup(ctx, alice, "acme", "site", "web", true))
			return check("user:erin", "product:acme/site", "manage")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.SetProductGroup(ctx, alice, "acme", "site", "web", false))
		},
	}, {
		name:  "remove a product",
		setup: func(f *fixture) { f.member("frank", hostaccess.Access{Technical: hostaccess.ProductScope{All: true}}) },
		grant: func(f *fixture, _ int) hostaccess.Check {
			must[hostaccess.Result](f.t)(f.svc.AddProduct(ctx, alice, "acme", "tmp", nil, nil))
			return check("user:frank", "product:acme/tmp", "manage")
		},
		narrow: func(f *fixture, _ int) { must[hostaccess.Result](f.t)(f.svc.RemoveProduct(ctx, alice, "acme", "tmp")) },
	}, {
		name: "switch delegation off",
		setup: func(f *fixture) {
			// Host staff written by hand through SpiceDB's API, as a provider would.
			_, err := f.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
				Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: &v1.Relationship{
					Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: "admin",
					Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "hank"}},
				},
			}}})
			require.NoError(f.t, err)
		},
		grant: func(f *fixture, _ int) hostaccess.Check {
			must[hostaccess.Result](f.t)(f.svc.SetDelegation(ctx, alice, "acme", true))
			return check("user:hank", "account:acme", "manage_users")
		},
		narrow: func(f *fixture, _ int) { must[hostaccess.Result](f.t)(f.svc.SetDelegation(ctx, alice, "acme", false)) },
	}, {
		name:  "transfer ownership",
		setup: func(f *fixture) { f.member("gus", billing) },
		grant: func(f *fixture, round int) hostaccess.Check {
			return check("user:"+owners[round%2], "account:acme", "close")
		},
		narrow: func(f *fixture, round int) {
			from, to := owners[round%2], owners[(round+1)%2]
			must[hostaccess.Result](f.t)(f.svc.TransferOwnership(ctx, hostaccess.Person(from), "acme", to, &billing))
		},
	}, {
		name: "remove a contact",
		grant: func(f *fixture, _ int) hostaccess.Check {
			c, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Ivy", Email: "ivy@example.com", SupportAccess: true})
			require.NoError(f.t, err)
			contactID = c.ID
			return check("contact:"+c.ID, "account:acme", "speak_to_support")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.RemoveContact(ctx, alice, "acme", contactID))
		},
	}, {
		name: "update a contact: a notification category dropped",
		grant: func(f *fixture, round int) hostaccess.Check {
			in := hostaccess.ContactInput{Name: "Jo", Email: "jo@example.com", Notifications: []hostaccess.Category{hostaccess.CategoryRenewals}}
			if round == 0 {
				c, _, err := f.svc.AddContact(ctx, alice, "acme", in)
				require.NoError(f.t, err)
				contactID = c.ID
			} else {
				must[hostaccess.Result](f.t)(f.svc.UpdateContact(ctx, alice, "acme", contactID, in))
			}
			return check("contact:"+contactID, "account:acme", "receive_renewal_notices")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.UpdateContact(ctx, alice, "acme", contactID, hostaccess.ContactInput{Name: "Jo", Email: "jo@example.com"}))
		},
	}, {
		name: "revoke an invitation",
		grant: func(f *fixture, round int) hostaccess.Check {
			link, err := f.svc.Invite(ctx, alice, "acme", "kim@example.com", billing)
			require.NoError(f.t, err)
			invitationID = link.Invitation.ID
			return check("account:acme", "invitation:"+invitationID, "pending")
		},
		narrow: func(f *fixture, _ int) {
			must[hostaccess.Result](f.t)(f.svc.RevokeInvitation(ctx, alice, invitationID))
		},
	}, {
		name: "regenerate an invitation",
		grant: func(f *fixture, round int) hostaccess.Check {
			link, err := f.svc.Invite(ctx, alice, "acme", "lea@example.com", billing)
			require.NoError(f.t, err)
			invitationID = link.Invitation.ID
			return check("account:acme", "invitation:"+invitationID, "pending")
		},
		narrow: func(f *fixture, _ int) {
			link, err := f.svc.RegenerateInvitation(ctx, alice, invitationID)
			require.NoError(f.t, err)
			_, err = f.svc.RevokeInvitation(ctx, alice, link.Invitation.ID) // so the next round may invite again
			require.NoError(f.t, err)
		},
	}, {
		name:   "close the account",
		rounds: 1,
		grant: func(f *fixture, _ int) hostaccess.Check {
			return check("user:alice", "account:acme", "view")
		},
		narrow: func(f *fixture, _ int) { must[hostaccess.Result](f.t)(f.svc.CloseAccount(ctx, alice, "acme")) },
	}}
}

// answer is one check made by a background client: when it was asked, and
// what it got.
type answer struct {
	asked   time.Time
	allowed bool
}

// clients ask q (alone and in a page of questions) from several goroutines
// until stopped, recording every answer.
type clients struct {
	t    *testing.T
	mu   sync.Mutex
	got  []answer
	errs []error
	wg   sync.WaitGroup
	stop chan struct{}
	once sync.Once
}

func hammer(f *fixture, q hostaccess.Check) *clients {
	const n = 8
	c := &clients{t: f.t, stop: make(chan struct{})}
	f.t.Cleanup(c.halt) // a failed assertion must not leave clients running
	page := []hostaccess.Check{check("user:alice", "account:acme", "view"), q, check("user:nobody", "product:acme/site", "view")}
	for i := range n {
		c.wg.Go(func() {
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				asked := time.Now()
				var allowed bool
				var err error
				if i%2 == 0 {
					var a hostaccess.Answer
					a, err = f.svc.Can(ctx, q, hostaccess.CheckOptions{})
					allowed = a.Allowed
				} else {
					var as []hostaccess.Answer
					as, err = f.svc.CanAll(ctx, page, hostaccess.CheckOptions{})
					if err == nil {
						allowed = as[1].Allowed
					}
				}
				c.mu.Lock()
				if err != nil {
					c.errs = append(c.errs, err)
					c.mu.Unlock()
					return
				}
				c.got = append(c.got, answer{asked, allowed})
				c.mu.Unlock()
			}
		})
	}
	return c
}

// waitAnswers waits until n answers asked at or after since came back (the
// machine may be slow: no fixed sleep).
func (c *clients) waitAnswers(since time.Time, n int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		count := 0
		for _, a := range c.got {
			if !a.asked.Before(since) {
				count++
			}
		}
		failed := len(c.errs) > 0
		c.mu.Unlock()
		if count >= n || failed {
			return
		}
		require.True(c.t, time.Now().Before(deadline), "only %d of %d answers after 20s", count, n)
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *clients) halt() { c.once.Do(func() { close(c.stop) }) }

// answers stops the clients and returns every answer.
func (c *clients) answers() []answer {
	c.halt()
	c.wg.Wait()
	require.Empty(c.t, c.errs)
	return c.got
}

// TestNarrowingIsFreshAtOnceUnderAWarmCache: after every flow that removes
// or narrows access returns, the very next answer is denied, and so is
// every answer asked after it by concurrent clients that kept SpiceDB's
// cache warm on the old answer. Answers come from tokens, not from full
// consistency (the tracker's counters say so).
func TestNarrowingIsFreshAtOnceUnderAWarmCache(t *testing.T) {
	for _, n := range narrowings() {
		t.Run(n.name, func(t *testing.T) {
			f := newFixture(t)
			if n.setup != nil {
				n.setup(f)
			}
			rounds := n.rounds
			if rounds == 0 {
				rounds = 3
			}
			for round := range rounds {
				q := n.grant(f, round)
				require.True(t, f.can(q.Subject, q.Resource, q.Permission), "round %d: granted at once", round)

				cs := hammer(f, q)
				cs.waitAnswers(time.Time{}, 16) // warm: the old answer is cached
				n.narrow(f, round)
				narrowed := time.Now()
				require.False(t, f.can(q.Subject, q.Resource, q.Permission), "round %d: the check right after the flow", round)
				cs.waitAnswers(narrowed, 16)

				var before, after int
				for _, a := range cs.answers() {
					switch {
					case a.asked.Before(narrowed):
						before++
					case a.allowed:
						t.Fatalf("round %d: a check asked %s after the flow returned was allowed", round, a.asked.Sub(narrowed))
					default:
						after++
					}
				}
				require.Positive(t, before, "round %d: the cache was warmed", round)
				require.Positive(t, after, "round %d: checks were asked after the flow", round)
			}
			st := f.stack.Freshness.Stats()
			require.Zero(t, st.Full, "no answer fell back to full consistency")
			require.Positive(t, st.Hits, "answers used the accounts' tokens")
		})
	}
}

// deleteCarolsBilling deletes account:acme#billing@user:carol by hand
// through SpiceDB's API (WriteRelationships with a delete).
func deleteCarolsBilling(f *fixture) (*v1.WriteRelationshipsResponse, error) {
	return f.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_DELETE,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Relation: "billing",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}},
		},
	}}})
}

// rawDeletes remove carol's billing right by hand through SpiceDB's API,
// bypassing the domain layer, as an admin with the CLI would.
var rawDeletes = []struct {
	name string
	run  func(f *fixture) error
}{{
	name: "DeleteRelationships by filter",
	run: func(f *fixture) error {
		_, err := f.stack.Engine.Client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{
			ResourceType: "account", OptionalResourceId: "acme", OptionalRelation: "billing",
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: "user", OptionalSubjectId: "carol"},
		}})
		return err
	},
}, {
	name: "WriteRelationships with a delete",
	run: func(f *fixture) error {
		_, err := deleteCarolsBilling(f)
		return err
	},
}}

// TestRawDeleteIsFreshAtOnce: a relationship deleted by hand through this
// node's SpiceDB API is answered denied by the very next check, and by
// every check concurrent clients ask after it, cache warm.
func TestRawDeleteIsFreshAtOnce(t *testing.T) {
	for _, d := range rawDeletes {
		t.Run(d.name, func(t *testing.T) {
			f := newFixture(t)
			f.member("carol", billing)
			q := check("user:carol", "account:acme", "pay_invoices")
			for round := range 3 {
				if round > 0 {
					must[hostaccess.Result](t)(f.svc.SetAccess(ctx, alice, "acme", "carol", billing))
				}
				require.True(t, f.can(q.Subject, q.Resource, q.Permission))
				cs := hammer(f, q)
				cs.waitAnswers(time.Time{}, 16)
				require.NoError(t, d.run(f))
				deleted := time.Now()
				require.False(t, f.can(q.Subject, q.Resource, q.Permission), "round %d: the check right after the delete", round)
				cs.waitAnswers(deleted, 16)
				for _, a := range cs.answers() {
					if !a.asked.Before(deleted) && a.allowed {
						t.Fatalf("round %d: a check asked %s after the delete was allowed", round, a.asked.Sub(deleted))
					}
				}
			}
			require.Zero(t, f.stack.Freshness.Stats().Full)
		})
	}
}

// otherNode is a second hostaccess node on the same engine and directory:
// its own freshness tracker, which sees this node's changes only through
// the directory's stored tokens and SpiceDB's watch (no interceptor).
func otherNode(t *testing.T, f *fixture) (*hostaccess.Service, *freshness.Tracker) {
	t.Helper()
	tracker := testengine.NewTracker(t, f.stack.Directory, f.stack.DatabaseURI != "", 0)
	testengine.Follow(t, tracker, f.stack.Engine)
	svc, err := hostaccess.New(hostaccess.Config{Engine: f.stack.Engine.Client, Directory: f.stack.Directory, Freshness: tracker})
	require.NoError(t, err)
	return svc, tracker
}

func canOn(t *testing.T, svc *hostaccess.Service, q hostaccess.Check) bool {
	t.Helper()
	a, err := svc.Can(ctx, q, hostaccess.CheckOptions{})
	require.NoError(t, err)
	return a.Allowed
}

// TestAnotherNodeIsFreshAtOnceAfterAFlow: a node that has not asked about
// the account yet starts from the token the flow stored in the directory
// (or its watch, if quicker), so a removal on one node is denied at once
// on another. (pkg/freshness tests the directory path alone.)
func TestAnotherNodeIsFreshAtOnceAfterAFlow(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billing)
	other, _ := otherNode(t, f)
	q := check("user:carol", "account:acme", "pay_invoices")
	must[hostaccess.Result](t)(f.svc.RemoveMember(ctx, alice, "acme", "carol"))
	require.False(t, canOn(t, other, q))
}

// TestAnotherNodeSeesRawChangesThroughTheWatch: a node whose cache holds
// the account learns of a raw delete made elsewhere from SpiceDB's watch,
// within the watch's delay, and never answers allowed after once denied.
func TestAnotherNodeSeesRawChangesThroughTheWatch(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billing)
	other, tracker := otherNode(t, f)
	q := check("user:carol", "account:acme", "pay_invoices")
	for range 20 { // warm: the other node's cache and token for acme
		require.True(t, canOn(t, other, q))
	}
	del, err := deleteCarolsBilling(f)
	require.NoError(t, err)
	// The watch, and nothing else, tells the other node: its token for
	// acme reaches the delete's.
	deadline := time.Now().Add(5 * time.Second)
	for !tracker.Covers("acme", del.GetWrittenAt().GetToken()) {
		require.True(t, time.Now().Before(deadline), "the other node's watch did not report the delete within 5s")
		time.Sleep(5 * time.Millisecond)
	}
	for range 20 {
		require.False(t, canOn(t, other, q), "allowed again after a denial")
	}

	// A caller passing the write's token is answered at least that fresh
	// at once, watch or not.
	res := must[hostaccess.Result](t)(f.svc.SetAccess(ctx, alice, "acme", "carol", billing))
	a, err := other.Can(ctx, q, hostaccess.CheckOptions{AtLeastAsFresh: res.ZedToken})
	require.NoError(t, err)
	require.True(t, a.Allowed)
	resp, err := deleteCarolsBilling(f)
	require.NoError(t, err)
	a, err = other.Can(ctx, q, hostaccess.CheckOptions{AtLeastAsFresh: resp.GetWrittenAt().GetToken()})
	require.NoError(t, err)
	require.False(t, a.Allowed)

	// A token that is not one is refused, naming the problem.
	_, err = other.Can(ctx, q, hostaccess.CheckOptions{AtLeastAsFresh: "not-a-token"})
	requireCode(t, err, "invalid_argument")
}
