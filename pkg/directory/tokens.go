package directory

import (
	"context"
	"encoding/json"
	"time"
)

// TokenStatus is where a personal access token is in its life. Expiry is
// not a status: it is read from ExpiresAt, and SpiceDB lets the token's
// relationships lapse at that time.
type TokenStatus string

// Token statuses.
const (
	TokenActive  TokenStatus = "active"
	TokenRevoked TokenStatus = "revoked"
)

// Token is a personal access token's metadata. The secret itself is never
// stored: only its SHA-256 hash. What the token may do is in SpiceDB; Access
// is the record of what it was given, for listings.
type Token struct {
	ID        string // token:ID in SpiceDB, ACCOUNT/RANDOM
	AccountID string
	UserID    string // its creator
	Name      string
	// SecretHash is the SHA-256 of the secret handed out once.
	SecretHash []byte
	// Access is what the token was given, as the domain layer encodes it.
	Access       json.RawMessage
	AllowedCIDRs []string // empty: any address
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Status       TokenStatus
	StatusAt     time.Time // when it was revoked
	StatusBy     string    // who revoked it
}

// Tokens stores personal access tokens' metadata.
type Tokens interface {
	// CreateToken stores a new token; ErrConflict if the id or the secret's
	// hash is in use.
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	GetTokenBySecretHash(ctx context.Context, hash []byte) (Token, error)
	// ListTokens lists an account's tokens, oldest first.
	ListTokens(ctx context.Context, accountID string) ([]Token, error)
	// SetTokenStatus moves a token from one status to another, recording
	// who and when; ErrConflict if it is not in status from.
	SetTokenStatus(ctx context.Context, id string, from, to TokenStatus, by string, at time.Time) error
}
