package apiclient

import (
	"context"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Personal access tokens (docs/tokens.md).

// CreateToken creates a personal access token on an account for the actor
// (a person: a service actor is refused), with a subset of what they hold.
// The answer's Secret is shown this once: keep it out of logs.
func (c *Client) CreateToken(ctx context.Context, accountID string, in hostaccess.TokenInput) (hostaccess.NewToken, error) {
	var out hostaccess.NewToken
	return out, c.do(ctx, call{endpoint: wire.CreateToken, args: []string{accountID}, body: in}, &out)
}

// ListTokens lists an account's tokens: every token to an owner or a
// service actor, one's own to a member. Never their secrets.
func (c *Client) ListTokens(ctx context.Context, accountID string) ([]hostaccess.Token, error) {
	var out wire.TokenList
	return out.Tokens, c.do(ctx, call{endpoint: wire.ListTokens, args: []string{accountID}}, &out)
}

// RevokeToken revokes a token at once; tokenID is the full id (acme/1f2e...)
// or its short name.
func (c *Client) RevokeToken(ctx context.Context, accountID, tokenID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.RevokeToken, args: []string{accountID, shortName(accountID, tokenID)}}, &out)
}

// CheckToken asks whether the token holding q.Secret may do q.Permission on
// q.Resource, at least as fresh as atLeastAsFresh when set. It needs no
// actor. An unknown secret is a not_found *Problem.
func (c *Client) CheckToken(ctx context.Context, q hostaccess.TokenCheck, atLeastAsFresh string) (hostaccess.TokenAnswer, error) {
	var out hostaccess.TokenAnswer
	body := wire.TokenCheckRequest{TokenCheck: q, AtLeastAsFresh: atLeastAsFresh}
	return out, c.do(ctx, call{endpoint: wire.CheckToken, body: body, noActor: true}, &out)
}
