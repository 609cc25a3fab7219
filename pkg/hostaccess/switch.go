package hostaccess

import (
	"context"
	"strings"

	"github.com/hostaccess/hostaccess/schema"
)

// AccountSummary is one line of the switch-account list.
type AccountSummary struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Owner   bool   `json:"owner"`
	Summary string `json:"summary"`
}

// SwitchList is what the switch-account page shows.
type SwitchList struct {
	Accounts []AccountSummary `json:"accounts"`
	// Single is set when the person has exactly one account: their session
	// goes straight to it.
	Single *AccountSummary `json:"single,omitempty"`
}

// summaryPermissions are the capabilities a switch-list line mentions,
// each by the name the API grants it under (a Right, "owner", or
// "technical" for technical access to all products).
var summaryPermissions = []struct{ permission, label string }{
	{schema.PermClose, schema.RelOwner},
	{schema.PermPayInvoices, string(RightBilling)},
	{schema.PermOpenTicket, string(RightSupport)},
	{schema.PermManageDomains, string(RightDomains)},
	{schema.PermManageSecurity, string(RightSecurity)},
	{schema.PermManageUsers, string(RightUserManagement)},
	{schema.PermManageAllProducts, schema.RelTechnical},
	{schema.PermViewEverything, string(RightReadOnly)},
}

// SwitchAccounts lists the accounts a person can switch to, each with a
// one-line summary of their rights there. A person asks for themselves; a
// service identity for anyone.
func (s *Service) SwitchAccounts(ctx context.Context, actor Actor, userID string) (SwitchList, error) {
	if err := validName("user id", userID); err != nil {
		return SwitchList{}, err
	}
	if err := selfOrSystem(actor, userID); err != nil {
		return SwitchList{}, err
	}
	ids, err := s.lookupResources(ctx, typeAccount, schema.PermSwitchTo, subject(typeUser, userID))
	if err != nil {
		return SwitchList{}, err
	}
	accounts, err := s.summaries(ctx, userID, ids, CheckOptions{})
	if err != nil {
		return SwitchList{}, err
	}
	out := SwitchList{Accounts: accounts}
	if len(out.Accounts) == 1 {
		out.Single = &out.Accounts[0]
	}
	return out, nil
}

// selfOrSystem lets a person ask about themselves, a service about anyone.
// summaries are the switch-list lines of the accounts ids, for userID.
func (s *Service) summaries(ctx context.Context, userID string, ids []string, opts CheckOptions) ([]AccountSummary, error) {
	out := []AccountSummary{}
	if len(ids) == 0 {
		return out, nil
	}
	var checks []Check
	for _, id := range ids {
		for _, p := range summaryPermissions {
			checks = append(checks, Check{Resource: "account:" + id, Permission: p.permission, Subject: "user:" + userID})
		}
	}
	var answers []Answer
	for start := 0; start < len(checks); start += MaxBulkChecks {
		part, err := s.CanAll(ctx, checks[start:min(start+MaxBulkChecks, len(checks))], opts)
		if err != nil {
			return nil, err
		}
		answers = append(answers, part...)
	}
	accounts, err := s.dir.GetAccounts(ctx, ids)
	if err != nil {
		return nil, fromDirectory(err, "accounts")
	}
	for i, id := range ids {
		line := AccountSummary{ID: id, Name: accounts[id].Name}
		var labels []string
		for j, p := range summaryPermissions {
			if !answers[i*len(summaryPermissions)+j].Allowed {
				continue
			}
			if p.permission == schema.PermClose {
				line.Owner = true
				break
			}
			labels = append(labels, p.label)
		}
		switch {
		case line.Owner:
			line.Summary = "owner: every right"
		case len(labels) == 0:
			line.Summary = "scoped product access"
		default:
			line.Summary = strings.Join(labels, ", ")
		}
		out = append(out, line)
	}
	return out, nil
}

func selfOrSystem(actor Actor, userID string) error {
	if err := actor.validate(); err != nil {
		return err
	}
	if !actor.isSystem() && actor.UserID != userID {
		return forbiddenf("%s may only ask about themselves", actor)
	}
	return nil
}
