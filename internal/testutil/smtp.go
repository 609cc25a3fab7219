package testutil

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one message a MailServer received.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// MailServer is a real SMTP server on loopback that keeps what it receives.
type MailServer struct {
	Addr string

	mu   sync.Mutex
	mail []Mail
}

// StartMailServer serves SMTP (no TLS, no auth) on a free loopback port
// until the test ends.
func StartMailServer(t testing.TB) *MailServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms := &MailServer{Addr: ln.Addr().String()}
	srv := smtp.NewServer(ms)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ms
}

// Received returns the messages received so far.
func (ms *MailServer) Received() []Mail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]Mail(nil), ms.mail...)
}

// NewSession implements smtp.Backend.
func (ms *MailServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &mailSession{server: ms}, nil
}

type mailSession struct {
	server *MailServer
	cur    Mail
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = data
	s.server.mu.Lock()
	s.server.mail = append(s.server.mail, s.cur)
	s.server.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = Mail{} }
func (s *mailSession) Logout() error { return nil }
