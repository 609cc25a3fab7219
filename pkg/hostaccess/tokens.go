package hostaccess

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// Personal access tokens (docs/tokens.md). A token's reach is, at every
// check, what it was given AND what its creator still holds: the schema
// intersects the token's own relations with twins of the creator's
// relationships, which every flow keeps in step in the same write
// (accountState.withTwins). Nothing has to clean up after a creator loses a
// right: the intersection loses it at once.

const (
	typeToken = schema.TypeToken
	// TokenSecretPrefix starts every token secret, so that a leaked one is
	// recognisable (secret scanners) and never mistaken for an invitation.
	TokenSecretPrefix = "hat_"
	// DefaultMaxTokenLifetime is how far ahead a token may expire unless
	// the provider sets Config.MaxTokenLifetime.
	DefaultMaxTokenLifetime = 90 * 24 * time.Hour
	// MaxTokensPerPerson bounds one person's live tokens on one account.
	MaxTokensPerPerson = 50
	// MaxAllowedCIDRs bounds a token's IP allowlist.
	MaxAllowedCIDRs = 32
	// MaxTokenNameLen bounds a token's name.
	MaxTokenNameLen = 100
	// minTokenLifetime refuses a token that would lapse before it is used.
	minTokenLifetime = time.Minute
)

// TokenInput is what a token is created with: a name, a subset of what its
// creator holds, a required expiry and an optional IP allowlist.
type TokenInput struct {
	Name string `json:"name"`
	// Rights are account-wide rights the token is given; the creator must
	// hold each.
	Rights []Right `json:"rights,omitempty"`
	// Technical and View are the product scopes the token is given.
	Technical ProductScope `json:"technical"`
	View      ProductScope `json:"view"`
	// ExpiresAt is required, at most the provider's maximum lifetime ahead,
	// and no later than the end of the creator's own access.
	ExpiresAt *time.Time `json:"expires_at"`
	// AllowedCIDRs restricts the token to requests from these networks
	// (checks must then give client_ip in their context). Empty: any.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
}

// Token is a personal access token as listed: never its secret.
type Token struct {
	ID        string       `json:"id"`
	AccountID string       `json:"account_id"`
	Creator   string       `json:"creator"`
	Name      string       `json:"name"`
	Rights    []Right      `json:"rights,omitempty"`
	Technical ProductScope `json:"technical"`
	View      ProductScope `json:"view"`
	// AllowedCIDRs, when set, restrict the token to those networks.
	AllowedCIDRs []string  `json:"allowed_cidrs,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	// Status is active, expired or revoked.
	Status    string     `json:"status"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// NewToken is what the creator gets once: the token and its secret. The
// secret is not stored and cannot be shown again.
type NewToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
	Result
}

// given is the access a token input names.
func (in TokenInput) given() Access {
	return Access{Rights: in.Rights, Technical: in.Technical, View: in.View}
}

// normalize validates a token input completely, before anything is read or
// written.
func (in TokenInput) normalize(now time.Time, maxLifetime time.Duration) (TokenInput, error) {
	out := in
	if err := checkText("token name", in.Name, MaxTokenNameLen); err != nil {
		return TokenInput{}, err
	}
	out.Name = strings.TrimSpace(in.Name)
	if out.Name == "" {
		return TokenInput{}, invalidf("a token needs a name (what it is for, e.g. \"DNS-01 renewal\")")
	}
	a, err := in.given().normalize()
	if err != nil {
		return TokenInput{}, err
	}
	if !a.grantsAnything() {
		return TokenInput{}, invalidf("the token is given nothing: name rights, technical or view products")
	}
	out.Rights, out.Technical, out.View = a.Rights, a.Technical, a.View
	if in.ExpiresAt == nil {
		return TokenInput{}, invalidf("a token needs expires_at (at most %s ahead)", maxLifetime)
	}
	end := in.ExpiresAt.UTC().Truncate(time.Second)
	switch {
	case end.Before(now.Add(minTokenLifetime)):
		return TokenInput{}, invalidf("expires_at %s is in the past or under a minute away", end.Format(time.RFC3339))
	case end.After(now.Add(maxLifetime)):
		return TokenInput{}, invalidf("expires_at %s is more than %s ahead, the longest a token may live here", end.Format(time.RFC3339), maxLifetime)
	}
	out.ExpiresAt = &end
	if out.AllowedCIDRs, err = normalizeCIDRs(in.AllowedCIDRs); err != nil {
		return TokenInput{}, err
	}
	return out, nil
}

// normalizeCIDRs parses an allowlist into canonical, sorted, unique
// prefixes ("10.1.2.3/8" is refused: the host bits must be zero, so what is
// allowed is what is written).
func normalizeCIDRs(in []string) ([]string, error) {
	if len(in) > MaxAllowedCIDRs {
		return nil, invalidf("%d networks in allowed_cidrs: at most %d", len(in), MaxAllowedCIDRs)
	}
	var out []string
	for _, s := range in {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, invalidf("allowed_cidrs: %s is not a network in CIDR notation (e.g. 203.0.113.0/24)", quoteShort(s))
		}
		if p.Masked() != p {
			return nil, invalidf("allowed_cidrs: %s has host bits set: did you mean %s?", quoteShort(s), p.Masked())
		}
		out = append(out, p.String())
	}
	return uniqueSorted(out), nil
}

// newTokenSecret makes a secret: the prefix and 256 random bits in hex.
func newTokenSecret() (string, []byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := TokenSecretPrefix + hex.EncodeToString(b)
	return secret, hashToken(secret), nil
}

// CreateToken creates a personal access token on an account for the actor,
// with a subset of what the actor holds there. The token's relationships and
// the twins of the actor's own are one write, guarded by the actor's
// footprint: a change to the actor's access at the same time makes one of
// the two flows fail, never a token reaching what its creator lost.
func (s *Service) CreateToken(ctx context.Context, actor Actor, accountID string, in TokenInput) (_ NewToken, err error) {
	defer countFlow("create_token", &err)
	if err := actor.validate(); err != nil {
		return NewToken{}, err
	}
	if actor.isSystem() {
		return NewToken{}, errorf(ErrForbidden, "%s is a service: a token is created by a person and bounded by what they hold", actor)
	}
	now := s.now().UTC()
	in, err = in.normalize(now, s.maxTokenLife)
	if err != nil {
		return NewToken{}, err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermAccess, "create a token on "+accountID+" (only its owners and members may)")
	if err != nil {
		return NewToken{}, err
	}
	creator := actor.UserID
	if end := st.memberEnd(creator); end != nil && in.ExpiresAt.After(*end) {
		return NewToken{}, errorf(ErrEscalation, "%s's own access to %s ends at %s: the token must expire by then", actor, accountID, end.Format(time.RFC3339))
	}
	if n := len(st.tokensOf(creator)); n >= MaxTokensPerPerson {
		return NewToken{}, errorf(ErrConflict, "%s already has %d tokens on %s, the most one person may hold: revoke one first", actor, n, accountID)
	}
	given := in.given()
	pre, err := st.scopeExists(given.Technical)
	if err != nil {
		return NewToken{}, err
	}
	viewPre, err := st.scopeExists(given.View)
	if err != nil {
		return NewToken{}, err
	}
	pre = append(pre, viewPre...)
	if err := s.authorize(ctx, actor, tokenNeeds(accountID, given)); err != nil {
		return NewToken{}, err
	}

	id, err := newID(accountID)
	if err != nil {
		return NewToken{}, err
	}
	secret, hash, err := newTokenSecret()
	if err != nil {
		return NewToken{}, err
	}
	updates := tokenTuples(accountID, id, creator, given, *in.ExpiresAt, in.AllowedCIDRs)
	// The creator's side of the intersection, brought in step with what
	// they hold now (twins left from an earlier token are corrected).
	updates = append(updates, st.twinDiff(creator)...)

	rec := directory.Token{
		ID: id, AccountID: accountID, UserID: creator, Name: in.Name, SecretHash: hash, Access: mustJSON(given),
		AllowedCIDRs: in.AllowedCIDRs, CreatedAt: now, ExpiresAt: *in.ExpiresAt, Status: directory.TokenActive,
	}
	written, err := s.commit(ctx, change{
		actor: actor, flow: "create_token", accountID: accountID, target: "token:" + id,
		after: map[string]any{"name": in.Name, "access": given, "expires_at": in.ExpiresAt, "allowed_cidrs": in.AllowedCIDRs},
		// The record comes first: a token never exists in SpiceDB without
		// the record that lists and revokes it.
		prepare: func(ctx context.Context) error {
			return fromDirectory(s.dir.CreateToken(ctx, rec), "token "+id)
		},
		updates: updates, pre: pre, state: st, changed: []string{creator}, decidedBy: []string{creator},
		undo: []step{{TokenStatus: &tokenStep{ID: id, From: directory.TokenActive, To: directory.TokenRevoked, By: "hostaccess: write failed", At: now}}},
	})
	if err != nil {
		if isConflict(err) {
			return NewToken{}, errorf(ErrConflict, "the access of %s on %s, or a product named, changed meanwhile; try again", actor, accountID)
		}
		return NewToken{}, err
	}
	return NewToken{Token: toToken(rec, now), Secret: secret, Result: result(written)}, nil
}

// tokenNeeds are the permissions the creator must hold for each part of
// what a token is given: the same ones a grant needs.
func tokenNeeds(accountID string, given Access) []need {
	acct := accountRef(accountID)
	var needs []need
	for _, r := range given.Rights {
		needs = append(needs, need{resource: acct, permission: grantPermission[r], escalation: true, what: "the " + string(r) + " right"})
	}
	needs = append(needs, scopeNeeds(accountID, given.Technical, schema.PermManage, schema.PermManageAllProducts, "technical")...)
	return append(needs, scopeNeeds(accountID, given.View, schema.PermView, schema.PermViewAllProducts, "view")...)
}

// tokenTuples are a token's own relationships, all lapsing with it: its
// account and creator, the link from the creator's token set (with the IP
// allowlist as caveat) and what it was given.
func tokenTuples(accountID, id, creator string, given Access, expires time.Time, cidrs []string) []*v1.RelationshipUpdate {
	link := restricted(expiring(relationship(schema.TypeUser, creator, schema.RelTokens, typeToken, id), &expires), cidrs)
	rels := []*v1.Relationship{
		relationship(typeToken, id, schema.RelAccount, typeAccount, accountID),
		relationship(typeToken, id, schema.RelCreator, typeUser, creator),
	}
	for _, r := range given.Rights {
		rels = append(rels, relationship(typeAccount, accountID, schema.TokenPrefix+string(r), typeToken, id))
	}
	if given.Technical.All {
		rels = append(rels, relationship(typeAccount, accountID, schema.TokenPrefix+schema.RelTechnical, typeToken, id))
	}
	rels = append(rels, tokenScopeTuples(accountID, id, schema.TokenPrefix+schema.RelTechnician, given.Technical)...)
	rels = append(rels, tokenScopeTuples(accountID, id, schema.TokenPrefix+schema.RelViewer, given.View)...)
	updates := []*v1.RelationshipUpdate{touch(link)}
	for _, r := range rels {
		updates = append(updates, touch(expiring(r, &expires)))
	}
	return updates
}

func tokenScopeTuples(accountID, id, relation string, p ProductScope) []*v1.Relationship {
	var rels []*v1.Relationship
	for _, n := range p.Products {
		rels = append(rels, relationship(typeProduct, objectID(accountID, n), relation, typeToken, id))
	}
	for _, n := range p.Groups {
		rels = append(rels, relationship(typeGroup, objectID(accountID, n), relation, typeToken, id))
	}
	for _, n := range p.Tags {
		rels = append(rels, relationship(typeTag, objectID(accountID, n), relation, typeToken, id))
	}
	return rels
}

// ListTokens lists an account's tokens: every token to an owner, one's own
// to a member. Secrets are never listed.
func (s *Service) ListTokens(ctx context.Context, actor Actor, accountID string) ([]Token, error) {
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermAccess, "see the tokens of "+accountID)
	if err != nil {
		return nil, err
	}
	recs, err := s.dir.ListTokens(ctx, accountID)
	if err != nil {
		return nil, fromDirectory(err, "tokens of "+accountID)
	}
	all := actor.isSystem() || st.isOwner(actor.UserID)
	now := s.now()
	out := []Token{}
	for _, r := range recs {
		if all || r.UserID == actor.UserID {
			out = append(out, toToken(r, now))
		}
	}
	return out, nil
}

// RevokeToken revokes a token at once: its relationships go in one write.
// Its creator and the account's owners may revoke it.
func (s *Service) RevokeToken(ctx context.Context, actor Actor, accountID, tokenID string) (_ Result, err error) {
	defer countFlow("revoke_token", &err)
	if err := validObjectID("token id", tokenID); err != nil {
		return Result{}, err
	}
	if !strings.HasPrefix(tokenID, accountID+"/") {
		return Result{}, notFoundf("token %s is not a token of %s", tokenID, accountID)
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermAccess, "revoke tokens of "+accountID)
	if err != nil {
		return Result{}, err
	}
	rec, err := s.dir.GetToken(ctx, tokenID)
	if err != nil {
		return Result{}, fromDirectory(err, "token "+tokenID)
	}
	if !actor.isSystem() && rec.UserID != actor.UserID && !st.isOwner(actor.UserID) {
		return Result{}, errorf(ErrForbidden, "%s may not revoke token %s: only its creator and the owners of %s may", actor, tokenID, accountID)
	}
	now := s.now().UTC()
	if t := toToken(rec, now); t.Status != string(directory.TokenActive) {
		return Result{}, notFoundf("token %s is already %s", tokenID, t.Status)
	}
	updates := st.dropToken(rec.UserID, tokenID)
	if others := slices.DeleteFunc(st.tokensOf(rec.UserID), func(id string) bool { return id == tokenID }); len(others) == 0 {
		// The creator's last token: their twins serve nothing any more.
		updates = append(updates, st.dropTwins(rec.UserID)...)
	}
	written, err := s.commit(ctx, change{
		actor: actor, flow: "revoke_token", accountID: accountID, target: "token:" + tokenID,
		before:  map[string]any{"name": rec.Name, "creator": rec.UserID, "expires_at": rec.ExpiresAt},
		updates: updates, state: st, changed: []string{rec.UserID}, decidedBy: personal(actor),
		then: []step{{TokenStatus: &tokenStep{ID: tokenID, From: directory.TokenActive, To: directory.TokenRevoked, By: actor.String(), At: now}}},
	})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "the access of %s on %s changed meanwhile; try again", rec.UserID, accountID)
		}
		return Result{}, err
	}
	return result(written), nil
}

// TokenCheck is a question asked with a token's secret, as a panel does for
// a request made with one.
type TokenCheck struct {
	Secret     string         `json:"secret"`
	Resource   string         `json:"resource"`
	Permission string         `json:"permission"`
	Context    map[string]any `json:"context,omitempty"`
}

// TokenAnswer is the answer to a TokenCheck, with the token it names.
type TokenAnswer struct {
	Answer
	Token Token `json:"token"`
}

// CheckToken answers a question for the token holding secret: allowed
// only if the token is live and reaches it (what it was given, AND what
// its creator still holds, AND from an allowed network).
func (s *Service) CheckToken(ctx context.Context, q TokenCheck, opts CheckOptions) (TokenAnswer, error) {
	if !strings.HasPrefix(q.Secret, TokenSecretPrefix) || len(q.Secret) > MaxTokenLen {
		return TokenAnswer{}, invalidf("secret: want the %s... value handed out when the token was created", TokenSecretPrefix)
	}
	rec, err := s.dir.GetTokenBySecretHash(ctx, hashToken(q.Secret))
	if errors.Is(err, directory.ErrNotFound) {
		return TokenAnswer{}, notFoundf("no token has this secret (revoked tokens keep theirs; check it was copied whole)")
	}
	if err != nil {
		return TokenAnswer{}, fromDirectory(err, "token")
	}
	t := toToken(rec, s.now())
	out := TokenAnswer{Token: t}
	a, err := s.Can(ctx, Check{Resource: q.Resource, Permission: q.Permission, Subject: typeToken + ":" + rec.ID, Context: q.Context}, opts)
	if err != nil {
		return TokenAnswer{}, err
	}
	out.Answer = a
	out.Subject = typeToken + ":" + rec.ID // never echo the secret
	if t.Status != string(directory.TokenActive) {
		// SpiceDB already refuses a lapsed or revoked token; say so plainly
		// even if a stale relationship survived.
		out.Allowed, out.Conditional, out.MissingContext = false, false, nil
	}
	return out, nil
}

// toToken is a token record as listed at now.
func toToken(r directory.Token, now time.Time) Token {
	var given Access
	_ = decodeJSON(r.Access, &given) // written by CreateToken; an unreadable record lists as given nothing
	t := Token{
		ID: r.ID, AccountID: r.AccountID, Creator: r.UserID, Name: r.Name,
		Rights: given.Rights, Technical: given.Technical, View: given.View,
		AllowedCIDRs: r.AllowedCIDRs, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Status: string(r.Status),
	}
	switch {
	case r.Status == directory.TokenRevoked:
		at := r.StatusAt
		t.RevokedAt, t.RevokedBy = &at, r.StatusBy
	case !now.Before(r.ExpiresAt):
		t.Status = "expired"
	}
	return t
}

// tokensOf lists the live tokens userID created on the account.
func (st *accountState) tokensOf(userID string) []string {
	var ids []string
	for _, r := range st.find(typeToken, "", schema.RelCreator, typeUser, userID) {
		ids = append(ids, r.GetResource().GetObjectId())
	}
	slices.Sort(ids)
	return ids
}

// dropToken deletes one token's relationships.
func (st *accountState) dropToken(creator, tokenID string) []*v1.RelationshipUpdate {
	// The link lives on the user object, outside the account's state;
	// deleting it is the same whether or not it lapsed already.
	updates := []*v1.RelationshipUpdate{remove(relationship(schema.TypeUser, creator, schema.RelTokens, typeToken, tokenID))}
	for _, r := range st.find(typeToken, tokenID, "", "", "") {
		updates = append(updates, remove(r))
	}
	for _, r := range st.find("", "", "", typeToken, tokenID) {
		updates = append(updates, remove(r))
	}
	return updates
}

// dropTokens adds to a flow's updates the removal of every token userID
// created on the account, and returns the steps that mark them revoked:
// removing a member removes their tokens.
func (st *accountState) dropTokens(updates []*v1.RelationshipUpdate, userID, by string, at time.Time) ([]*v1.RelationshipUpdate, []step) {
	var then []step
	for _, id := range st.tokensOf(userID) {
		updates = append(updates, st.dropToken(userID, id)...)
		then = append(then, step{TokenStatus: &tokenStep{ID: id, From: directory.TokenActive, To: directory.TokenRevoked, By: by, At: at}})
	}
	return updates, then
}

// twinOf is the twin of a person's relationship: the same object and
// expiration, its twin relation, and the person's token set as subject.
func twinOf(r *v1.Relationship) (*v1.Relationship, bool) {
	sub := r.GetSubject()
	if sub.GetObject().GetObjectType() != schema.TypeUser || sub.GetOptionalRelation() != "" {
		return nil, false
	}
	twin, ok := schema.TwinRelation(r.GetResource().GetObjectType(), r.GetRelation())
	if !ok {
		return nil, false
	}
	return &v1.Relationship{
		Resource: r.GetResource(), Relation: twin,
		Subject:           &v1.SubjectReference{Object: sub.GetObject(), OptionalRelation: schema.RelTokens},
		OptionalExpiresAt: r.GetOptionalExpiresAt(),
		// A membership restricted to networks restricts the tokens with it.
		OptionalCaveat: r.GetOptionalCaveat(),
	}, true
}

func isTwin(r *v1.Relationship) bool {
	return r.GetSubject().GetObject().GetObjectType() == schema.TypeUser && r.GetSubject().GetOptionalRelation() == schema.RelTokens
}

// twinsOf are userID's twins as read.
func (st *accountState) twinsOf(userID string) []*v1.Relationship {
	var out []*v1.Relationship
	for _, r := range st.find("", "", "", schema.TypeUser, userID) {
		if isTwin(r) {
			out = append(out, r)
		}
	}
	return out
}

// twinDiff brings userID's twins in step with their relationships as read.
func (st *accountState) twinDiff(userID string) []*v1.RelationshipUpdate {
	var want []*v1.Relationship
	for _, r := range st.userTuples(userID) {
		if twin, ok := twinOf(r); ok {
			want = append(want, twin)
		}
	}
	return diff(st.twinsOf(userID), want)
}

// dropTwins deletes userID's twins.
func (st *accountState) dropTwins(userID string) []*v1.RelationshipUpdate {
	var out []*v1.RelationshipUpdate
	for _, r := range st.twinsOf(userID) {
		out = append(out, remove(r))
	}
	return out
}

// withTwins adds, to a flow's updates, the same change to the twin of each
// relationship of a person holding tokens on the account: every flow that
// changes what someone holds changes what their tokens may reach in the
// same write. (The flow's footprint guard makes a token created at the same
// time conflict with it.)
func (st *accountState) withTwins(updates []*v1.RelationshipUpdate) []*v1.RelationshipUpdate {
	holders := map[string]bool{}
	for _, r := range st.find(typeToken, "", schema.RelCreator, typeUser, "") {
		holders[r.GetSubject().GetObject().GetObjectId()] = true
	}
	if len(holders) == 0 {
		return updates
	}
	out := updates
	for _, u := range updates {
		r := u.GetRelationship()
		if !holders[r.GetSubject().GetObject().GetObjectId()] {
			continue
		}
		twin, ok := twinOf(r)
		if !ok {
			continue
		}
		if u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE {
			out = append(out, remove(twin))
		} else {
			out = append(out, touch(twin))
		}
	}
	return out
}

// tokenStep records a token's status change in the directory.
type tokenStep struct {
	ID   string                `json:"id"`
	From directory.TokenStatus `json:"from"`
	To   directory.TokenStatus `json:"to"`
	By   string                `json:"by"`
	At   time.Time             `json:"at"`
}

func (s *Service) applyTokenStep(ctx context.Context, ts *tokenStep) error {
	err := s.dir.SetTokenStatus(ctx, ts.ID, ts.From, ts.To, ts.By, ts.At)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return nil // never recorded: nothing to finish or undo
	case errors.Is(err, directory.ErrConflict):
		if t, gerr := s.dir.GetToken(ctx, ts.ID); gerr == nil && t.Status == ts.To {
			return nil // done before
		}
	}
	return err
}

func decodeJSON(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}
