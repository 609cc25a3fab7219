package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// --- a tiny recording SMTP server ---------------------------------------

type received struct {
	from   string
	to     []string
	data   []byte
	tls    bool   // the transaction happened over TLS
	authed string // user that authenticated, if any
}

type backend struct {
	user, pass string // when set, AUTH PLAIN is required

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, conn: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b    *backend
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed
		}
		s.cur.authed = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.cur.authed == "" {
		return smtp.ErrAuthRequired
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *session) Logout() error { return nil }

type serverMode int

const (
	plainServer    serverMode = iota // no TLS offered
	startTLSServer                   // offers STARTTLS
	implicitTLS                      // TLS from the first byte
)

// startServer serves be on a free 127.0.0.1 port and returns "127.0.0.1:port".
func startServer(t *testing.T, be *backend, mode serverMode, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	switch mode {
	case startTLSServer:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	case implicitTLS:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// selfSigned returns an in-memory certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hostaccess test SMTP"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// --- helpers -------------------------------------------------------------

func testInvitation() Invitation {
	return Invitation{
		To:          "bob@example.net",
		AccountName: "Société Dupont",
		InviterName: "Alice Martin",
		Link:        "https://panel.example.com/invite/abc%2Fdef-0123456789-0123456789-0123456789-0123456789-0123456789",
		ExpiresAt:   time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC),
	}
}

// parsed is a received message decoded the way a mail client would.
type parsed struct {
	subject   string
	from, to  string
	text, htm string
}

func decode(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	var p parsed
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	p.from, p.to = msg.Header.Get("From"), msg.Header.Get("To")
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart() // raw: decode transfer encoding ourselves
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = part
		switch enc := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); enc {
		case "quoted-printable":
			body = quotedprintable.NewReader(part)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, part)
		case "", "7bit", "8bit":
		default:
			t.Fatalf("unexpected transfer encoding %q", enc)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.htm = string(b)
		}
	}
	return p
}

func mustSender(t *testing.T, rawURL string, opts ...Option) *SMTPSender {
	t.Helper()
	s, err := NewSMTPSender(rawURL, "hostaccess <noreply@panel.example.com>", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkDelivered(t *testing.T, be *backend, wantTLS bool) {
	t.Helper()
	inv := testInvitation()
	msgs := be.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.from != "noreply@panel.example.com" {
		t.Errorf("MAIL FROM = %q", got.from)
	}
	if len(got.to) != 1 || got.to[0] != inv.To {
		t.Errorf("RCPT TO = %q, want [%s]", got.to, inv.To)
	}
	if got.tls != wantTLS {
		t.Errorf("transaction over TLS = %v, want %v", got.tls, wantTLS)
	}

	p := decode(t, got.data)
	if want := "You are invited to Société Dupont on hostaccess"; p.subject != want {
		t.Errorf("Subject = %q, want %q", p.subject, want)
	}
	if !strings.Contains(p.from, "noreply@panel.example.com") || !strings.Contains(p.to, inv.To) {
		t.Errorf("From/To headers = %q / %q", p.from, p.to)
	}
	for _, want := range []string{inv.Link, inv.AccountName, inv.InviterName, "9 March 2026 at 14:00 UTC"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text body lacks %q:\n%s", want, p.text)
		}
	}
	if !strings.Contains(p.htm, `href="`+inv.Link+`"`) || !strings.Contains(p.htm, "Société Dupont") {
		t.Errorf("html body lacks link or account name:\n%s", p.htm)
	}
}

// --- sending -------------------------------------------------------------

func TestSendInvitationInsecure(t *testing.T) {
	be := &backend{}
	addr := startServer(t, be, plainServer, nil)
	s := mustSender(t, "smtp+insecure://"+addr)
	if err := s.SendInvitation(sendCtx(t), testInvitation()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, be, false)
}

func TestSendInvitationSTARTTLSWithAuth(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &backend{user: "relay", pass: "s3cr:t@/x"}
	addr := startServer(t, be, startTLSServer, cert)
	s := mustSender(t, "smtp://relay:s3cr%3At%40%2Fx@"+addr, WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err := s.SendInvitation(sendCtx(t), testInvitation()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, be, true)
	if got := be.messages()[0].authed; got != "relay" {
		t.Errorf("authenticated as %q, want relay", got)
	}
}

func TestSendInvitationImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &backend{}
	addr := startServer(t, be, implicitTLS, cert)
	s := mustSender(t, "smtps://"+addr, WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err := s.SendInvitation(sendCtx(t), testInvitation()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, be, true)
}

func TestSendInvitationRefusesWeakTransport(t *testing.T) {
	cert, _ := selfSigned(t)

	t.Run("no STARTTLS offered", func(t *testing.T) {
		be := &backend{}
		s := mustSender(t, "smtp://"+startServer(t, be, plainServer, nil))
		err := s.SendInvitation(sendCtx(t), testInvitation())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v, want a STARTTLS error", err)
		}
		if n := len(be.messages()); n != 0 {
			t.Fatalf("%d messages sent in clear text", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		be := &backend{}
		s := mustSender(t, "smtp://"+startServer(t, be, startTLSServer, cert))
		err := s.SendInvitation(sendCtx(t), testInvitation())
		var unknownCA x509.UnknownAuthorityError
		if !errors.As(err, &unknownCA) {
			t.Fatalf("err = %v, want x509.UnknownAuthorityError", err)
		}
		if n := len(be.messages()); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
}

func TestSendInvitationUnreachable(t *testing.T) {
	// Grab a free port, then close it so nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	s := mustSender(t, "smtp+insecure://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = s.SendInvitation(ctx, testInvitation())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSendInvitationHonoursContextDeadline(t *testing.T) {
	// A listener that never accepts: TCP connects, but no SMTP greeting comes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	s := mustSender(t, "smtp+insecure://"+ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.SendInvitation(ctx, testInvitation()); err == nil {
		t.Fatal("want a timeout error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent server held the sender for %v despite a 300ms deadline", d)
	}
}

func TestSendInvitationRejectsBadInvitation(t *testing.T) {
	s := mustSender(t, "smtp+insecure://127.0.0.1:1") // never dialled
	for name, mutate := range map[string]func(*Invitation){
		"bad recipient": func(i *Invitation) { i.To = "not an address" },
		"no link":       func(i *Invitation) { i.Link = "" },
		"no account":    func(i *Invitation) { i.AccountName = "" },
	} {
		inv := testInvitation()
		mutate(&inv)
		if err := s.SendInvitation(sendCtx(t), inv); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

// --- configuration -------------------------------------------------------

func TestNewSMTPSenderDefaults(t *testing.T) {
	for raw, want := range map[string]struct {
		port int
		sec  security
	}{
		"smtp://user:pw@mail.example.com":     {587, securitySTARTTLS},
		"smtps://mail.example.com":            {465, securityImplicitTLS},
		"smtp+insecure://localhost":           {25, securityNone},
		"smtp+insecure://localhost:1025/":     {1025, securityNone},
		"SMTP://mail.example.com:2525":        {2525, securitySTARTTLS},
		"smtp://[2001:db8::1]:587":            {587, securitySTARTTLS},
		"smtps://user@mail.example.com:10465": {10465, securityImplicitTLS},
	} {
		s, err := NewSMTPSender(raw, "noreply@example.com")
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if s.port != want.port || s.security != want.sec {
			t.Errorf("%s: port %d security %d, want %d %d", raw, s.port, s.security, want.port, want.sec)
		}
	}
}

func TestNewSMTPSenderErrors(t *testing.T) {
	const from = "noreply@example.com"
	for _, tc := range []struct{ url, from, want string }{
		{"", from, "empty"},
		{"mail.example.com:587", from, "scheme"},
		{"http://mail.example.com", from, `unknown scheme "http"`},
		{"smtp://", from, "missing host"},
		{"smtp:mail.example.com:587", from, "missing host"},
		{"smtp://:587", from, "missing host"},
		{"smtp://mail.example.com:0", from, "invalid port"},
		{"smtp://mail.example.com:70000", from, "invalid port"},
		{"smtp://mail.example.com:abc", from, "malformed URL"},
		{"smtp://mail.example.com/inbox", from, "unexpected path"},
		{"smtp+insecure://u:hunter2@localhost:1025", from, "does not accept credentials"},
		{"smtp://u:hunter2@mail.example.com", "not an address", "invalid from address"},
		{"smtp://u:hunter2@mail.example.com", "", "invalid from address"},
		// Malformed URLs with credentials must not echo them.
		{"smtp://u:hunter2@mail example.com:587", from, "malformed URL"},
		{"smtp://u:hunter2/x@mail.example.com", from, "smtp url"},
		{"smtp://u:hun%zzter2@mail.example.com", from, "malformed URL"},
		{"ftp://u:hunter2@mail.example.com", from, "unknown scheme"},
	} {
		_, err := NewSMTPSender(tc.url, tc.from)
		if err == nil {
			t.Errorf("NewSMTPSender(%q, %q): want error", tc.url, tc.from)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSMTPSender(%q, %q) = %v, want it to mention %q", tc.url, tc.from, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun%zz") {
			t.Errorf("NewSMTPSender(%q): error leaks the password: %v", tc.url, err)
		}
	}
}

func TestSenderStringRedactsPassword(t *testing.T) {
	s := mustSender(t, "smtp://relay:hunter2@mail.example.com:587")
	for _, got := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%+v", s)} {
		if strings.Contains(got, "hunter2") || !strings.Contains(got, "relay:xxxxx@mail.example.com") {
			t.Errorf("got %q", got)
		}
	}
}

func TestSendErrorRedactsPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := mustSender(t, "smtps://relay:hunter2@"+addr)
	err = s.SendInvitation(sendCtx(t), testInvitation())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

// --- links ---------------------------------------------------------------

func TestBuildLink(t *testing.T) {
	got, err := BuildLink("https://panel.example.com/invite/{token}", "a/b c?d&e")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://panel.example.com/invite/a%2Fb%20c%3Fd&e"; got != want {
		t.Errorf("BuildLink = %q, want %q", got, want)
	}
	got, err = BuildLink("http://localhost:8080/p/{token}/accept", "tok_123-XYZ")
	if err != nil || got != "http://localhost:8080/p/tok_123-XYZ/accept" {
		t.Errorf("BuildLink = %q, %v", got, err)
	}
	if _, err := BuildLink("https://panel.example.com/invite/{token}", ""); err == nil {
		t.Error("empty token: want error")
	}
}

func TestValidateLinkTemplate(t *testing.T) {
	for tmpl, want := range map[string]string{
		"https://panel.example.com/invite/{token}":       "",
		"https://panel.example.com/invite/":              "must contain {token}",
		"https://panel.example.com/invite/{Token}":       "must contain {token}",
		"/invite/{token}":                                "absolute",
		"panel.example.com/invite/{token}":               "absolute",
		"ftp://panel.example.com/invite/{token}":         "absolute",
		"javascript:alert(1)//{token}":                   "absolute",
		"https:///invite/{token}":                        "absolute",
		"https://panel.example.com/invite?t={token}":     "in its path",
		"https://panel.example.com/invite#{token}":       "in its path",
		"https://{token}.example.com/invite":             "in its path",
		"https://panel.example.com/in valid\x7f/{token}": "invalid control character",
	} {
		err := ValidateLinkTemplate(tmpl)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", tmpl, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: err = %v, want it to mention %q", tmpl, err, want)
		}
	}
	if _, err := BuildLink("https://panel.example.com/invite/", "x"); err == nil {
		t.Error("BuildLink without {token}: want error")
	}
}
