package hostaccess

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on the text a caller sends, enforced here so they hold for every
// store (memory, Postgres) and every entry point (Go, HTTP, CLI). Lengths
// are in characters (Unicode code points) after trimming surrounding
// spaces, except MaxEmailLen, which is in bytes as RFC 5321 counts it.
// docs/http-api.md and the OpenAPI document state them (the document is
// generated with these constants; a test holds it to them).
const (
	// MaxIDLen bounds ids and the names used inside object ids (account,
	// user, host, product, group, tag): the pattern of validName.
	MaxIDLen = 200
	// MaxNameLen bounds an account's name, a contact's name and a person's
	// display name.
	MaxNameLen = 200
	// MaxPhoneLen bounds a contact's phone number.
	MaxPhoneLen = 50
	// MaxEmailLen bounds an e-mail address (RFC 5321: 254 octets).
	MaxEmailLen = 254
	// MaxObjectIDLen bounds the full id of an invitation or a contact
	// (ACCOUNT/16 hex digits).
	MaxObjectIDLen = MaxIDLen + 1 + 16
	// MaxTokenLen bounds an invitation token (64 hex digits are issued).
	MaxTokenLen = 200
	// MaxExpiry is how far in the future an expiry may be.
	MaxExpiry = 10 * 365 * 24 * time.Hour
)

// checkText refuses text that is not valid UTF-8, holds a control
// character (NUL, newlines, tabs, escapes) or is longer than limit
// characters once trimmed. field names the input in the error.
func checkText(field, value string, limit int) error {
	if !utf8.ValidString(value) {
		return invalidf("%s is not valid UTF-8", field)
	}
	if i := strings.IndexFunc(value, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(value[i:])
		return invalidf("%s holds the control character %U at byte %d: use printable text", field, r, i)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(value)); n > limit {
		return invalidf("%s is %d characters long: at most %d", field, n, limit)
	}
	return nil
}

// checkEmailText checks an e-mail address as text before it is parsed.
func checkEmailText(field, value string) error {
	if err := checkText(field, value, MaxEmailLen); err != nil {
		return err
	}
	if n := len(strings.TrimSpace(value)); n > MaxEmailLen {
		return invalidf("%s is %d bytes long: at most %d", field, n, MaxEmailLen)
	}
	return nil
}

// objectIDPattern is the full id of an invitation or a contact, as newID
// makes them.
// ShortIDPattern is the part of a generated object id (invitation,
// contact) after its account and slash.
const ShortIDPattern = `^[0-9a-f]{16}$`

var objectIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_\-=+|]{1,200}/[0-9a-f]{16}$`)

// validObjectID checks the full id of an invitation or a contact before it
// is looked up.
func validObjectID(kind, id string) error {
	if !objectIDPattern.MatchString(id) {
		return invalidf("%s %s: want ACCOUNT/ID as listed (ID is 16 hex digits)", kind, quoteShort(id))
	}
	return nil
}

// quoteShort quotes a value for an error message, cut to a readable length:
// an error never echoes a megabyte back.
func quoteShort(s string) string {
	const keep = 64
	if len(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

// checkExpiry refuses an expiry that is not in the future, or that is
// further than MaxExpiry from now.
func checkExpiry(field string, at *time.Time, now time.Time) error {
	if at == nil {
		return nil
	}
	switch {
	case !at.After(now):
		return invalidf("%s %s is not in the future", field, at.UTC().Format(time.RFC3339))
	case at.Sub(now) > MaxExpiry:
		return invalidf("%s %s is more than 10 years away", field, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkAccess checks what Access.normalize cannot, lacking the clock: that
// the expiry is in the future. Flows granting access call it first.
func (s *Service) checkAccess(a *Access) error {
	if a == nil {
		return nil
	}
	return checkExpiry("expires_at", a.ExpiresAt, s.now())
}

// checkGrantee checks the user a flow grants to and the access granted
// (nil: none).
func (s *Service) checkGrantee(field, userID string, a *Access) error {
	if err := validName(field, userID); err != nil {
		return err
	}
	return s.checkAccess(a)
}

// validate checks a new account's text fields; ids are checked by
// CreateAccount with validName.
func (in NewAccount) validate() error {
	if err := checkText("account name", in.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("owner name", in.OwnerName, MaxNameLen); err != nil {
		return err
	}
	return checkEmailText("owner e-mail", in.OwnerEmail)
}

// validate checks a contact's text fields.
func (in ContactInput) validate() error {
	if err := checkText("contact name", in.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkEmailText("contact e-mail", in.Email); err != nil {
		return err
	}
	return checkText("contact phone", in.Phone, MaxPhoneLen)
}

// validate checks the accepting login and the token's shape.
func (l Login) validate(token string) error {
	if err := validName("user id", l.UserID); err != nil {
		return err
	}
	if err := checkEmailText("login e-mail", l.Email); err != nil {
		return err
	}
	if err := checkText("display name", l.DisplayName, MaxNameLen); err != nil {
		return err
	}
	return checkText("invitation token", token, MaxTokenLen)
}
