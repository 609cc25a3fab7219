package wire

import "github.com/hostaccess/hostaccess/pkg/hostaccess"

// The bodies of the personal access token endpoints (docs/tokens.md). The
// request of CreateToken is hostaccess.TokenInput, its answer
// hostaccess.NewToken (the secret, shown once).
type (
	// TokenList answers ListTokens: never a secret.
	TokenList struct {
		Tokens []hostaccess.Token `json:"tokens"`
	}
	// TokenCheckRequest is the body of CheckToken.
	TokenCheckRequest struct {
		hostaccess.TokenCheck
		AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
	}
)
