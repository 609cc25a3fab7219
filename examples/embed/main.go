// Command embed is a platform team's program that embeds hostaccess from
// another Go module, using only its public packages: it starts the whole
// stack in-process, runs an invitation story, and asks the same question
// three ways (the Go service, SpiceDB's gRPC API, the HTTP/JSON API).
//
// It exits non-zero when any answer is not the one the story expects, so
// `.ci/run` runs it as a test of the public surface.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
	"github.com/hostaccess/hostaccess/schema"
)

const apiKey = "panel-secret-key"

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	s := &stack.Server{
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		APIKeys:           []string{"panel=" + apiKey},
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	svc := s.Service()

	// The panel creates alice's account; alice invites her accountant.
	if _, err := svc.CreateAccount(ctx, hostaccess.System("panel"), hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice"}); err != nil {
		return err
	}
	link, err := svc.Invite(ctx, hostaccess.Person("alice"), "acme", "carol@example.com",
		hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	if err != nil {
		return err
	}
	// Someone else's login cannot use the link.
	if _, err := svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "mallory", Email: "mallory@example.com", EmailVerified: true}); err == nil {
		return fmt.Errorf("mallory accepted carol's invitation")
	}
	accepted, err := svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "carol", Email: "carol@example.com", EmailVerified: true})
	if err != nil {
		return err
	}

	// 1. The Go service.
	for _, c := range []struct {
		perm string
		want bool
	}{{schema.PermPayInvoices, true}, {schema.PermManageUsers, false}} {
		perm, want := c.perm, c.want
		a, err := svc.Can(ctx, hostaccess.Check{Resource: schema.TypeAccount + ":acme", Permission: perm, Subject: schema.TypeUser + ":carol"},
			hostaccess.CheckOptions{AtLeastAsFresh: accepted.ZedToken})
		if err != nil {
			return err
		}
		if a.Allowed != want {
			return fmt.Errorf("service: carol %s on acme = %v, want %v", perm, a.Allowed, want)
		}
		fmt.Printf("service: carol %s: %v\n", perm, a.Allowed)
	}

	// 2. SpiceDB's own API, at least as fresh as the acceptance.
	resp, err := s.Client().CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: accepted.ZedToken}}},
		Resource:    &v1.ObjectReference{ObjectType: schema.TypeAccount, ObjectId: "acme"},
		Permission:  schema.PermPayInvoices,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: "carol"}},
	})
	if err != nil {
		return err
	}
	if resp.Permissionship != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
		return fmt.Errorf("spicedb: carol cannot pay acme's invoices")
	}
	fmt.Println("spicedb: carol pay_invoices: true")

	// 3. The HTTP/JSON API, as a panel in another language would call it.
	web := httptest.NewServer(s.Handler())
	defer web.Close()
	body, _ := json.Marshal(map[string]string{"resource": "account:acme", "permission": schema.PermManageUsers, "subject": "user:carol"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, web.URL+"/v1/check", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	var answer struct {
		Allowed bool `json:"allowed"`
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("http: POST /v1/check answered %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		return err
	}
	if answer.Allowed {
		return fmt.Errorf("http: carol may manage acme's users")
	}
	fmt.Println("http: carol manage_users: false")
	return nil
}
