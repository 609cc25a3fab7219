// Package hostaccess is the domain layer of hostaccess: the invitation,
// grant, contact, delegation and switch-account flows of a hosting client
// area, turned into SpiceDB relationship writes and permission lookups, with
// the rules a schema cannot carry (last owner, administrator cap, no
// escalation, invitation expiry and e-mail binding) enforced here.
//
// Every flow that changes access is ONE WriteRelationships call, guarded by
// preconditions on the state it decided from, so racing calls end with one
// winner and no broken invariant. Directory data (names, e-mails, invitation
// metadata, contacts, audit) lives in a directory.Store; it never decides a
// check.
package hostaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/schema"
)

// Defaults.
const (
	DefaultInvitationTTL = 7 * 24 * time.Hour
	DefaultAdminCap      = 3
)

// Engine is the part of SpiceDB's v1 API the service uses; an
// *authzed.Client satisfies it.
type Engine interface {
	v1.PermissionsServiceClient
}

// InvitationMailer delivers invitation links; optional.
type InvitationMailer interface {
	SendInvitation(ctx context.Context, m InvitationMail) error
}

// InvitationMail is what an invitation e-mail says.
type InvitationMail struct {
	To          string
	AccountName string
	InviterName string
	Link        string
	ExpiresAt   time.Time
}

// Config configures a Service.
type Config struct {
	Engine    Engine
	Directory directory.Store
	Logger    *zap.Logger
	// InvitationTTL is how long an invitation stays valid (7 days by default).
	InvitationTTL time.Duration
	// InviteURLTemplate builds invitation links: "{token}" is replaced by the
	// token, e.g. https://panel.example.com/invite/{token}. Empty: no link,
	// only the token.
	InviteURLTemplate string
	// Mailer sends invitation e-mails when set.
	Mailer InvitationMailer
	// Now is the clock (time.Now by default); tests move it.
	Now func() time.Time
	// MFARights are the rights that need a two-factor session (Actor.MFA,
	// mfa in a check's context) on every account with a host; nil: none.
	// RecommendedMFARights is the set to start with. Turning it on makes
	// checks of those rights without mfa conditional, so it is a choice.
	MFARights []Right
	// MaxTokenLifetime is the longest a personal access token may live
	// (DefaultMaxTokenLifetime, 90 days, by default).
	MaxTokenLifetime time.Duration
	// RecoverAfter is how old an interrupted flow's intent must be before
	// Recover settles it (RecoverAfter by default). It must exceed the
	// longest a relationship write may take on any node (30 s).
	RecoverAfter time.Duration
	// Schema is the SpiceDB schema in force (the embedded hosting schema by
	// default); audit explanations evaluate it.
	Schema string
	// Freshness, when set, keeps each account's freshness token: checks are
	// at least as fresh as the account's last change and otherwise served
	// from SpiceDB's cache. Without it every check is fully consistent.
	Freshness *freshness.Tracker
	// EngineReportsWrites says the engine already reports every write to
	// Freshness, before the caller hears back (pkg/engine's interceptor on
	// an embedded SpiceDB): the service then only stores its writes' tokens
	// for other nodes, rather than reporting them a second time. Leave it
	// false for a remote SpiceDB.
	EngineReportsWrites bool
}

// Service runs the flows. It is safe for concurrent use.
type Service struct {
	client       Engine
	dir          directory.Store
	log          *zap.Logger
	ttl          time.Duration
	urlTmpl      string
	mailer       InvitationMailer
	now          func() time.Time
	explain      *explainers
	recoverAfter time.Duration
	fresh        *freshness.Tracker
	engineTells  bool // the engine reports writes to fresh (Config.EngineReportsWrites)
	maxTokenLife time.Duration
	mfaRights    []Right
}

// New builds a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Engine == nil {
		return nil, errors.New("hostaccess: Config.Engine is required")
	}
	if cfg.Directory == nil {
		return nil, errors.New("hostaccess: Config.Directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.InvitationTTL == 0 {
		cfg.InvitationTTL = DefaultInvitationTTL
	}
	if cfg.InvitationTTL < time.Minute {
		return nil, fmt.Errorf("hostaccess: InvitationTTL %s is too short", cfg.InvitationTTL)
	}
	if cfg.InviteURLTemplate != "" && !strings.Contains(cfg.InviteURLTemplate, "{token}") {
		return nil, fmt.Errorf("hostaccess: InviteURLTemplate %q has no {token}", cfg.InviteURLTemplate)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	mfa, err := checkMFARights(cfg.MFARights)
	if err != nil {
		return nil, err
	}
	if cfg.MaxTokenLifetime < time.Hour || cfg.MaxTokenLifetime > MaxExpiry {
		return nil, fmt.Errorf("hostaccess: MaxTokenLifetime %s: want between 1h and %s", cfg.MaxTokenLifetime, MaxExpiry)
	}
	if cfg.Schema == "" {
		cfg.Schema = schema.Hosting
	}
	if cfg.RecoverAfter == 0 {
		cfg.RecoverAfter = RecoverAfter
	}
	return &Service{
		client: cfg.Engine, dir: cfg.Directory, log: cfg.Logger, ttl: cfg.InvitationTTL,
		urlTmpl: cfg.InviteURLTemplate, mailer: cfg.Mailer, now: cfg.Now, explain: newExplainers(cfg.Schema), recoverAfter: cfg.RecoverAfter,
		fresh: cfg.Freshness, engineTells: cfg.EngineReportsWrites, maxTokenLife: cfg.MaxTokenLifetime, mfaRights: mfa,
	}, nil
}

// Actor is who performs a call: a person (a login) or a service identity
// (the provider's own platform, trusted for every flow, still audited).
type Actor struct {
	UserID  string
	Service string
	// MFA says the person's session passed two-factor authentication: on a
	// host requiring it for a right (Config.MFARights), their flows using
	// that right are refused without it.
	MFA bool
	// ClientIP is where the person's request comes from: a member
	// restricted to networks (Access.AllowedCIDRs) acts only with it.
	ClientIP string
	// standing asks whether the person still holds what they need, their
	// session apart: an invitation accepted later re-checks its inviter,
	// whose conditions were met when they sent it.
	standing bool
}

// Person is the actor for a login.
func Person(userID string) Actor { return Actor{UserID: userID} }

// System is the actor for a trusted service identity.
func System(name string) Actor { return Actor{Service: name} }

func (a Actor) String() string {
	if a.Service != "" {
		return "service:" + a.Service
	}
	return "user:" + a.UserID
}

func (a Actor) validate() error {
	switch {
	case a.UserID != "" && a.Service != "":
		return invalidf("an actor is a person or a service, not both")
	case a.UserID != "":
		if a.ClientIP != "" {
			if _, err := netip.ParseAddr(a.ClientIP); err != nil {
				return invalidf("the actor's client IP %s is not an IP address", quoteShort(a.ClientIP))
			}
		}
		return validName("actor user id", a.UserID)
	case a.Service != "":
		return nil
	default:
		return invalidf("every call names its actor (a user id or a service identity)")
	}
}

func (a Actor) isSystem() bool { return a.Service != "" }

// Result is what a flow that changed access returns.
type Result struct {
	// ZedToken is the revision of the write: pass it to Can to read your
	// own writes from a cache-friendly snapshot.
	ZedToken string `json:"zed_token"`
}

// need is one permission the actor must hold for a flow to go ahead.
type need struct {
	resource   *v1.ObjectReference
	permission string
	// escalation marks a grant check: a refusal is ErrEscalation, not ErrForbidden.
	escalation bool
	what       string
}

// authorize checks, in one bulk call, that the actor holds every needed
// permission. Service identities hold them all.
func (s *Service) authorize(ctx context.Context, actor Actor, needs []need) error {
	if err := actor.validate(); err != nil {
		return err
	}
	if actor.isSystem() || len(needs) == 0 {
		return nil
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(needs))
	for i, n := range needs {
		items[i] = &v1.CheckBulkPermissionsRequestItem{Resource: n.resource, Permission: n.permission, Subject: subject(typeUser, actor.UserID), Context: actor.session()}
	}
	resp, err := s.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: fullyConsistent(), Items: items})
	if err != nil {
		return fromSpiceDB(err)
	}
	pairs := resp.GetPairs()
	if len(pairs) != len(needs) {
		return fmt.Errorf("access engine answered %d of %d authorization checks", len(pairs), len(needs))
	}
	for i, pair := range pairs {
		if pair.GetError() != nil {
			// As the whole call's errors: an item cut off by a node going
			// away is unavailable (the caller retries), not bad input.
			return fmt.Errorf("checking %s: %w", needs[i].what, fromSpiceDB(status.ErrorProto(pair.GetError()))) //nolint:gosec // len(pairs) == len(requests) is checked above
		}
		if pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION && !actor.standing {
			return conditionalRefusal(actor, needs[i].what, pair.GetItem().GetPartialCaveatInfo().GetMissingRequiredContext()) //nolint:gosec // len(pairs) == len(requests) is checked above
		}
		if p := pair.GetItem().GetPermissionship(); p != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION &&
			(p != v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION || !actor.standing) {
			n := needs[i] //nolint:gosec // len(pairs) == len(requests) is checked above
			if n.escalation {
				return errorf(ErrEscalation, "%s cannot grant %s: they do not hold it themselves", actor, n.what)
			}
			if len(s.mfaRights) > 0 && !actor.MFA {
				return errorf(ErrForbidden, "%s may not %s (if they hold it, it needs a two-factor session here: the call must say the session passed one)", actor, n.what)
			}
			return errorf(ErrForbidden, "%s may not %s", actor, n.what)
		}
	}
	return nil
}

// write applies updates atomically under preconditions.
func (s *Service) write(ctx context.Context, updates []*v1.RelationshipUpdate, pre []*v1.Precondition) (*v1.ZedToken, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	resp, err := s.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates, OptionalPreconditions: pre})
	if err != nil {
		return nil, fromSpiceDB(err)
	}
	return resp.GetWrittenAt(), nil
}

// audit appends an audit entry. The change it records already happened, so
// a failure here is logged loudly and returned to the caller.
func (s *Service) audit(ctx context.Context, actor Actor, flow, accountID, target string, before, after any, token *v1.ZedToken) error {
	entry := directory.AuditEntry{
		Time: s.now().UTC(), Actor: actor.String(), Flow: flow, AccountID: accountID, Target: target,
		Before: mustJSON(before), After: mustJSON(after), ZedToken: token.GetToken(),
	}
	if _, err := s.dir.AppendAudit(ctx, entry); err != nil {
		s.log.Error("audit entry not recorded", zap.String("flow", flow), zap.String("account", accountID), zap.String("target", target), zap.Error(err))
		return fmt.Errorf("the change was applied but its audit entry was not recorded: %w", err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(fmt.Sprintf("%q", fmt.Sprint(v)))
	}
	return b
}

func result(token *v1.ZedToken) Result { return Result{ZedToken: token.GetToken()} }

// loadAccount reads an existing account's directory record and relationships.
func (s *Service) loadAccount(ctx context.Context, accountID string) (directory.Account, *accountState, error) {
	if err := validName("account id", accountID); err != nil {
		return directory.Account{}, nil, err
	}
	st, err := s.readAccount(ctx, accountID)
	if err != nil {
		return directory.Account{}, nil, err
	}
	acct, err := s.dir.GetAccount(ctx, accountID)
	switch {
	case errors.Is(err, directory.ErrNotFound) && st.exists():
		// An account written as raw relationships (CLI, bootstrap file) has
		// no directory record yet: relationships are the truth, the record
		// takes its defaults.
		return directory.Account{ID: accountID, HostID: st.host(), AdminCap: DefaultAdminCap}, st, nil
	case err != nil:
		return directory.Account{}, nil, fromDirectory(err, "account "+accountID)
	case !st.exists():
		return directory.Account{}, nil, notFoundf("account %s has no owner (closed?)", accountID)
	}
	return acct, st, nil
}

// loadAccountAs is loadAccount for an actor who needs permission on the
// account to go any further. A person is authorized first, so one without
// the permission learns nothing, not even whether the account exists: the
// same refusal answers for an account that does not.
func (s *Service) loadAccountAs(ctx context.Context, actor Actor, accountID, permission, what string) (directory.Account, *accountState, error) {
	if err := validName("account id", accountID); err != nil {
		return directory.Account{}, nil, err
	}
	if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: permission, what: what}}); err != nil {
		return directory.Account{}, nil, err
	}
	return s.loadAccount(ctx, accountID)
}

func accountRef(id string) *v1.ObjectReference { return ref(typeAccount, id) }
