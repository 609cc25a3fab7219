package api

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hostaccess/hostaccess/internal/wire"
)

// Scope is a kind of call an API key may make. Every route needs exactly
// one (routes.go); a key carries one or more.
type Scope string

const (
	// ScopeRead: checks, lookups, listings, who-can, reach, the audit log:
	// every GET route and the check routes.
	ScopeRead Scope = "read"
	// ScopeWrite: the flows, every route that changes something.
	ScopeWrite Scope = "write"
)

// Scopes is every scope, in the order they are documented. A key
// configured without scopes has them all.
var Scopes = []Scope{ScopeRead, ScopeWrite}

// MinKeyLength keeps guessable keys out of the configuration.
const MinKeyLength = 16

// Key is one configured API key.
type Key struct {
	Name   string  // the calling service; a "service" actor is audited as service:<Name>
	Secret string  // the bearer key
	Scopes []Scope // what it may call
}

// ParseKeys reads the keys of --api-keys (ParseKey each) and checks them as
// a set; errors name the flag and never hold a key.
func ParseKeys(specs []string) ([]Key, error) {
	keys := make([]Key, 0, len(specs))
	for _, spec := range specs {
		k, err := ParseKey(spec)
		if err != nil {
			return nil, fmt.Errorf("--api-keys %w", err)
		}
		keys = append(keys, k)
	}
	if _, err := NewKeySet(keys); err != nil {
		return nil, fmt.Errorf("--api-keys %w", err)
	}
	return keys, nil
}

// ParseKey reads a key's configuration: NAME=KEY (every scope) or
// NAME:SCOPE[+SCOPE...]=KEY, e.g. auditor:read=KEY. The error never holds
// the key.
func ParseKey(spec string) (Key, error) {
	head, secret, ok := strings.Cut(strings.TrimSpace(spec), "=")
	name, scopeList, scoped := strings.Cut(head, ":")
	if !ok || name == "" {
		return Key{}, fmt.Errorf("wants NAME=KEY or NAME:SCOPE[+SCOPE]=KEY (the calling service's name, its scopes, then its key), got %q", redact(spec))
	}
	if strings.ContainsAny(name, " \t") {
		return Key{}, fmt.Errorf("%q: a service name has no spaces", name)
	}
	if len(secret) < MinKeyLength {
		return Key{}, fmt.Errorf("%s: the key must be at least %d characters", name, MinKeyLength)
	}
	k := Key{Name: name, Secret: secret}
	if !scoped {
		k.Scopes = slices.Clone(Scopes)
		return k, nil
	}
	for s := range strings.SplitSeq(scopeList, "+") {
		scope := Scope(s)
		if !slices.Contains(Scopes, scope) {
			return Key{}, fmt.Errorf("%s: unknown scope %q: use %s, joined with + (%s:read+write=KEY), or none for every scope", name, s, scopeNames(), name)
		}
		if !slices.Contains(k.Scopes, scope) {
			k.Scopes = append(k.Scopes, scope)
		}
	}
	return k, nil
}

// redact keeps a key's name and scopes and drops the key itself.
func redact(spec string) string {
	if head, _, ok := strings.Cut(spec, "="); ok {
		return head + "=..."
	}
	return "..."
}

func scopeNames() string {
	names := make([]string, len(Scopes))
	for i, s := range Scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// KeySet is a set of keys as the handler compares them: hashed, so every
// comparison runs over the same length whatever the presented key. It is
// never changed once built.
type KeySet struct {
	keys []apiKey
}

// apiKey is a configured key, kept as a hash.
type apiKey struct {
	hash   [sha256.Size]byte
	name   string
	scopes []Scope
}

// has reports whether the key carries scope.
func (k apiKey) has(scope Scope) bool { return slices.Contains(k.scopes, scope) }

// NewKeySet checks keys and builds their set: every key needs a name, a
// secret and a scope, and no secret may be given twice.
func NewKeySet(keys []Key) (*KeySet, error) {
	set := &KeySet{}
	seen := map[[sha256.Size]byte]string{}
	for _, k := range keys {
		if k.Name == "" || k.Secret == "" {
			// An empty key would let "Bearer " in; an empty name cannot be audited.
			return nil, errors.New("an API key needs a name and a key")
		}
		if len(k.Scopes) == 0 {
			return nil, fmt.Errorf("%s: the key has no scope", k.Name)
		}
		for _, s := range k.Scopes {
			if !slices.Contains(Scopes, s) {
				return nil, fmt.Errorf("%s: unknown scope %q", k.Name, s)
			}
		}
		hash := sha256.Sum256([]byte(k.Secret))
		if other, dup := seen[hash]; dup {
			return nil, fmt.Errorf("%s: the same key is given to %s too", k.Name, other)
		}
		seen[hash] = k.Name
		set.keys = append(set.keys, apiKey{hash: hash, name: k.Name, scopes: slices.Clone(k.Scopes)})
	}
	return set, nil
}

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Names lists each key's name and scopes (name:read+write), for logs.
func (s *KeySet) Names() []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		scopes := make([]string, len(k.scopes))
		for j, sc := range k.scopes {
			scopes[j] = string(sc)
		}
		out[i] = k.name + ":" + strings.Join(scopes, "+")
	}
	return out
}

// Keyring holds the key set the handler authenticates with; Set replaces
// it at once for every later request (rotation without a restart).
type Keyring struct {
	current atomic.Pointer[KeySet]
}

// NewKeyring starts a keyring with set.
func NewKeyring(set *KeySet) *Keyring {
	r := &Keyring{}
	r.Set(set)
	return r
}

// Set replaces the key set; nil means no key.
func (r *Keyring) Set(set *KeySet) {
	if set == nil {
		set = &KeySet{}
	}
	r.current.Store(set)
}

// Current is the key set in force.
func (r *Keyring) Current() *KeySet { return r.current.Load() }

// requireScope refuses a key that lacks the route's scope.
func requireScope(caller apiKey, rt route) error {
	if rt.scope == "" || caller.has(rt.scope) {
		return nil
	}
	return &apiError{code: wire.CodeInsufficientScope, detail: fmt.Sprintf(
		"the key of %s lacks the %s scope that %s %s needs", caller.name, rt.scope, rt.Method, rt.Pattern)}
}
