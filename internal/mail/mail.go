// Package mail delivers hostaccess invitation e-mails over SMTP.
//
// Delivery is optional: the inviter always gets the invitation link to copy,
// so the domain layer depends only on the Sender interface and can run
// without any SMTP server configured.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultInvitationTTL is how long an invitation stays valid unless the
// domain layer says otherwise through Invitation.ExpiresAt.
const DefaultInvitationTTL = 7 * 24 * time.Hour

// defaultTimeout bounds a whole delivery when the caller's context has no
// deadline, so a stuck server cannot hold an invitation request forever.
const defaultTimeout = 30 * time.Second

// tokenPlaceholder is the marker that link templates must contain.
const tokenPlaceholder = "{token}"

// Invitation is what the invitee needs to know to accept an invitation.
type Invitation struct {
	To          string // invitee address, e.g. "bob@example.com"
	AccountName string // account the invitee is invited to
	InviterName string // optional; the mail says "You have been invited" if empty
	Link        string // acceptance link, see BuildLink
	// ExpiresAt is when the link stops working; if zero, the mail announces
	// DefaultInvitationTTL from the time of sending.
	ExpiresAt time.Time
}

// Sender delivers invitation e-mails.
type Sender interface {
	SendInvitation(ctx context.Context, inv Invitation) error
}

type security int

const (
	securitySTARTTLS    security = iota // smtp://: STARTTLS is mandatory
	securityImplicitTLS                 // smtps://: TLS from the first byte
	securityNone                        // smtp+insecure://: clear text, local test servers only
)

// SMTPSender sends invitations through one SMTP server. It is safe for
// concurrent use: every message opens its own connection, which keeps
// invitations (rare, one at a time) independent of connection state.
type SMTPSender struct {
	redactedURL string
	host        string
	port        int
	security    security
	user, pass  string
	from        *netmail.Address
	tlsConfig   *tls.Config
}

var _ Sender = (*SMTPSender)(nil)

// Option adjusts an SMTPSender.
type Option func(*SMTPSender)

// WithTLSConfig sets the TLS configuration used for STARTTLS and smtps://,
// e.g. to trust a provider's private CA. ServerName defaults to the URL's
// host and MinVersion to TLS 1.2 when left empty.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(s *SMTPSender) {
		if cfg != nil {
			s.tlsConfig = cfg.Clone()
		}
	}
}

// NewSMTPSender parses an SMTP URL and a From address. Accepted URLs:
//
//	smtp://user:pass@host:587    STARTTLS, required (port defaults to 587)
//	smtps://user:pass@host:465   implicit TLS (port defaults to 465)
//	smtp+insecure://host:1025    no TLS at all (port defaults to 25)
//
// smtp+insecure sends everything in clear text; it exists only for local
// test servers (MailHog, Mailpit, ...) and refuses credentials for that
// reason. User and password must be percent-encoded if they contain
// special characters. Errors never contain the password.
func NewSMTPSender(rawURL, from string, opts ...Option) (*SMTPSender, error) {
	s := &SMTPSender{redactedURL: redact(rawURL)}
	bad := func(problem string) error {
		return fmt.Errorf("mail: smtp url %q: %s", s.redactedURL, problem)
	}
	if strings.TrimSpace(rawURL) == "" {
		return nil, errors.New("mail: smtp url is empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors may quote fragments of a mistyped password, so
		// only show their detail when the URL carries no credentials.
		problem := "malformed URL (percent-encode special characters in user and password)"
		var uerr *url.Error
		if !strings.Contains(rawURL, "@") && errors.As(err, &uerr) {
			problem = "malformed URL: " + uerr.Err.Error()
		}
		return nil, bad(problem)
	}

	switch u.Scheme {
	case "smtp":
		s.security, s.port = securitySTARTTLS, gomail.DefaultPortTLS
	case "smtps":
		s.security, s.port = securityImplicitTLS, gomail.DefaultPortSSL
	case "smtp+insecure":
		s.security, s.port = securityNone, gomail.DefaultPort
	case "":
		return nil, bad("missing scheme (want smtp://, smtps:// or smtp+insecure://)")
	default:
		return nil, bad(fmt.Sprintf("unknown scheme %q (want smtp, smtps or smtp+insecure)", u.Scheme))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, bad("missing host (want " + u.Scheme + "://host:port)")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, bad("invalid port (want 1-65535)")
		}
		s.port = port
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("unexpected path, query or fragment")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.security == securityNone {
			return nil, bad("smtp+insecure does not accept credentials (they would travel in clear text)")
		}
	}

	if s.from, err = netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: invalid from address %q: %w", from, err)
	}

	s.tlsConfig = &tls.Config{}
	for _, opt := range opts {
		opt(s)
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	if s.tlsConfig.MinVersion == 0 {
		s.tlsConfig.MinVersion = tls.VersionTLS12
	}
	return s, nil
}

// String returns the SMTP URL with the password hidden, safe for logs.
func (s *SMTPSender) String() string { return s.redactedURL }

// SendInvitation delivers one invitation. The context bounds the whole SMTP
// exchange, not only the dial.
func (s *SMTPSender) SendInvitation(ctx context.Context, inv Invitation) error {
	msg, err := s.message(inv)
	if err != nil {
		return err
	}

	// go-mail applies its timeout as a deadline on the connection; derive it
	// from ctx so a slow server cannot outlive the caller's deadline.
	timeout := defaultTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
		if timeout <= 0 {
			return fmt.Errorf("mail: sending invitation to %s: %w", inv.To, context.DeadlineExceeded)
		}
	}
	client, err := gomail.NewClient(s.host, s.clientOptions(timeout)...)
	if err != nil {
		return fmt.Errorf("mail: smtp client for %s: %w", s.redactedURL, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: sending invitation to %s via %s: %w", inv.To, s.redactedURL, err)
	}
	return nil
}

func (s *SMTPSender) clientOptions(timeout time.Duration) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tlsConfig),
	}
	switch s.security {
	case securitySTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case securityImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case securityNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.user != "" {
		// Auto-discovery picks the strongest mechanism the server offers and
		// never sends PLAIN/LOGIN over an unencrypted connection.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass))
	}
	return opts
}

var (
	textBody = texttemplate.Must(texttemplate.New("text").Parse(`Hello,

{{if .InviterName}}{{.InviterName}} has invited you{{else}}You have been invited{{end}} to access the account "{{.AccountName}}" on hostaccess.

To accept the invitation, open this link:

{{.Link}}

The invitation expires on {{.Expires}}.
If you were not expecting it, you can ignore this e-mail.
`))
	htmlBody = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>{{if .InviterName}}{{.InviterName}} has invited you{{else}}You have been invited{{end}} to access the account <strong>{{.AccountName}}</strong> on hostaccess.</p>
<p><a href="{{.Link}}">Accept the invitation</a></p>
<p>Or copy this link into your browser: {{.Link}}</p>
<p>The invitation expires on {{.Expires}}.<br>
If you were not expecting it, you can ignore this e-mail.</p>
</body></html>
`))
)

func (s *SMTPSender) message(inv Invitation) (*gomail.Msg, error) {
	if _, err := netmail.ParseAddress(inv.To); err != nil {
		return nil, fmt.Errorf("mail: invalid invitee address %q: %w", inv.To, err)
	}
	if inv.AccountName == "" || inv.Link == "" {
		return nil, errors.New("mail: invitation needs an account name and a link")
	}
	expires := inv.ExpiresAt
	if expires.IsZero() {
		expires = time.Now().Add(DefaultInvitationTTL)
	}
	data := struct {
		Invitation
		Expires string
	}{inv, expires.UTC().Format("2 January 2006 at 15:04 MST")}

	m := gomail.NewMsg()
	if err := m.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("mail: from address: %w", err)
	}
	if err := m.To(inv.To); err != nil {
		return nil, fmt.Errorf("mail: invalid invitee address %q: %w", inv.To, err)
	}
	// go-mail RFC 2047-encodes header values, so CR/LF in an account name
	// cannot inject headers.
	m.Subject(fmt.Sprintf("You are invited to %s on hostaccess", inv.AccountName))
	m.SetUserAgent("hostaccess")
	if err := m.SetBodyTextTemplate(textBody, data); err != nil {
		return nil, fmt.Errorf("mail: rendering text body: %w", err)
	}
	if err := m.AddAlternativeHTMLTemplate(htmlBody, data); err != nil {
		return nil, fmt.Errorf("mail: rendering html body: %w", err)
	}
	return m, nil
}

// redact hides the password in an SMTP URL, even one that does not parse
// (a mistyped URL is exactly when it ends up in an error message).
func redact(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	userinfo := raw[:at]
	start := 0
	if i := strings.Index(userinfo, "://"); i >= 0 {
		start = i + len("://")
	}
	user, _, hasPass := strings.Cut(userinfo[start:], ":")
	if !hasPass {
		return raw
	}
	return userinfo[:start] + user + ":xxxxx" + raw[at:]
}

// ValidateLinkTemplate checks an invitation link template such as
// "https://panel.example.com/invite/{token}": an absolute http(s) URL with
// {token} in its path. Call it at start-up so a typo fails early rather than
// at the first invitation.
func ValidateLinkTemplate(t string) error {
	if !strings.Contains(t, tokenPlaceholder) {
		return fmt.Errorf("mail: link template %q must contain %s", t, tokenPlaceholder)
	}
	// Substitute a plain marker so url.Parse judges the rest of the template.
	const marker = "hostaccess-token-marker"
	u, err := url.Parse(strings.ReplaceAll(t, tokenPlaceholder, marker))
	if err != nil {
		return fmt.Errorf("mail: link template %q: %w", t, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("mail: link template %q must be an absolute http(s) URL", t)
	}
	// The token is path-escaped, which is wrong for queries ('+', '&', '='
	// would survive), so only the path may hold it.
	if strings.Contains(u.RawQuery, marker) || strings.Contains(u.Fragment, marker) ||
		strings.Contains(u.Host, marker) || !strings.Contains(u.Path, marker) {
		return fmt.Errorf("mail: link template %q must have %s in its path", t, tokenPlaceholder)
	}
	return nil
}

// BuildLink replaces {token} in a link template with the path-escaped token.
func BuildLink(template, token string) (string, error) {
	if err := ValidateLinkTemplate(template); err != nil {
		return "", err
	}
	if token == "" {
		return "", errors.New("mail: empty invitation token")
	}
	return strings.ReplaceAll(template, tokenPlaceholder, url.PathEscape(token)), nil
}
