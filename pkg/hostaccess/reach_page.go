package hostaccess

import (
	"context"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/schema"
)

// reachQuestion names a reach listing in its cursor.
const reachQuestion = "reach"

// ReachPage is ReachOf a page of accounts at a time, for people who reach
// many (an agency member of hundreds of accounts): at most limit accounts
// (1 to MaxPageSize), by id, after the cursor's (empty: the first page),
// with the products they can manage in those accounts. Every page is read
// at the revision of the first, which the cursor carries, so no account is
// listed twice or skipped because of a change made meanwhile. Who may ask
// is checked again on every page, as for ReachOf.
func (s *Service) ReachPage(ctx context.Context, actor Actor, userID, cursor string, limit int) (AccessReport, error) {
	if limit < 1 || limit > MaxPageSize {
		return AccessReport{}, invalidf("limit %d: give 1 to %d", limit, MaxPageSize)
	}
	if err := validName("user id", userID); err != nil {
		return AccessReport{}, err
	}
	if err := selfOrSystem(actor, userID); err != nil {
		return AccessReport{}, err
	}
	who := typeUser + ":" + userID
	var after pageCursor
	cons := fullyConsistent()
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursor); err != nil {
			return AccessReport{}, err
		}
		if after.Resource != who || after.Permission != reachQuestion {
			return AccessReport{}, invalidf("the cursor belongs to another question (%s %s): start again without it", after.Permission, after.Resource)
		}
		cons = atSnapshot(&v1.ZedToken{Token: after.At})
	}
	sub := subject(typeUser, userID)
	ids, at, err := s.lookupResourcesWith(ctx, typeAccount, schema.PermSwitchTo, sub, cons)
	if err != nil {
		return AccessReport{}, cursorError(cursor, err)
	}
	if at == nil {
		at = cons.GetAtExactSnapshot() // nothing found: the page still names its revision
	}
	page, more := pageAfter(ids, after.After, limit)
	out := AccessReport{UserID: userID, Products: []string{}, At: at.GetToken()}
	if at == nil {
		out.Accounts = []AccountSummary{}
		return out, nil
	}
	if out.Accounts, err = s.summaries(ctx, userID, page, CheckOptions{snapshot: at}); err != nil {
		return AccessReport{}, cursorError(cursor, err)
	}
	if len(page) > 0 {
		products, _, err := s.lookupResourcesWith(ctx, typeProduct, schema.PermManage, sub, atSnapshot(at))
		if err != nil {
			return AccessReport{}, cursorError(cursor, err)
		}
		for _, p := range products {
			if account, _, ok := strings.Cut(p, "/"); ok && slices.Contains(page, account) {
				out.Products = append(out.Products, p)
			}
		}
	}
	if more {
		out.Next = encodeCursor(pageCursor{Resource: who, Permission: reachQuestion, At: at.GetToken(), After: page[len(page)-1]})
	}
	return out, nil
}
