package hostaccess

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/schema"
)

// HolderPage is one page of who-can.
type HolderPage struct {
	Holders []Holder `json:"holders"`
	// Next is the cursor of the next page; empty on the last one.
	Next string `json:"next,omitempty"`
	// At is the revision every page of this listing is read at (a ZedToken).
	At string `json:"at"`
}

// MaxPageSize bounds one page of a paginated listing.
const MaxPageSize = 1000

// pageCursor is what a cursor carries: the question, the revision of the
// first page, and the last holder given.
type pageCursor struct {
	Resource   string `json:"r"`
	Permission string `json:"p"`
	At         string `json:"at"`
	After      string `json:"after"`
}

// WhoCanPage is WhoCan a page at a time, for resources with many holders:
// at most limit holders (1 to MaxPageSize), in user id order, after the
// cursor's (empty: the first page). Every page is read at the revision of
// the first, which the cursor carries, so that a listing is one consistent
// picture however long it takes to page through: nobody appears twice or
// is skipped because of a change made meanwhile. The authorization is
// checked again on every page, at the newest revision.
func (s *Service) WhoCanPage(ctx context.Context, actor Actor, resource, permission, cursor string, limit int) (HolderPage, error) {
	if limit < 1 || limit > MaxPageSize {
		return HolderPage{}, invalidf("limit %d: give 1 to %d", limit, MaxPageSize)
	}
	res, accountID, err := accountObject(resource)
	if err != nil {
		return HolderPage{}, err
	}
	if permission == "" {
		return HolderPage{}, invalidf("the question has no permission")
	}
	var after pageCursor
	cons := fullyConsistent()
	if cursor != "" {
		if after, err = decodeCursor(cursor); err != nil {
			return HolderPage{}, err
		}
		if after.Resource != resource || after.Permission != permission {
			return HolderPage{}, invalidf("the cursor belongs to another question (%s %s): start again without it", after.Permission, after.Resource)
		}
		cons = atSnapshot(&v1.ZedToken{Token: after.At})
	}
	if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermViewUsers, what: "audit account " + accountID}}); err != nil {
		return HolderPage{}, err
	}
	rels, at, err := s.readReachableAt(ctx, accountID, res, cons)
	if err != nil {
		return HolderPage{}, cursorError(cursor, err)
	}
	ids, err := s.lookupSubjectsWith(ctx, res, permission, typeUser, atSnapshot(at))
	if err != nil {
		return HolderPage{}, cursorError(cursor, err)
	}
	ids, more := pageAfter(ids, after.After, limit)
	holders, err := s.explainHolders(ctx, rels, res, permission, ids)
	if err != nil {
		return HolderPage{}, err
	}
	page := HolderPage{Holders: holders, At: at.GetToken()}
	if more {
		page.Next = encodeCursor(pageCursor{Resource: resource, Permission: permission, At: at.GetToken(), After: ids[len(ids)-1]})
	}
	return page, nil
}

// pageAfter is the page of sorted ids that follows after ("" for the
// first): at most limit of them, and whether more follow.
func pageAfter(ids []string, after string, limit int) (page []string, more bool) {
	start, found := slices.BinarySearch(ids, after)
	if found {
		start++
	}
	end := min(start+limit, len(ids))
	return ids[start:end], end < len(ids)
}

func encodeCursor(c pageCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (pageCursor, error) {
	var c pageCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.At == "" {
		return pageCursor{}, invalidf("the cursor is not one this server gave: start again without it")
	}
	return c, nil
}

// cursorError says that a cursor's revision cannot be read any more
// (SpiceDB keeps old revisions for a while only), rather than blaming the
// engine, when a page read with a cursor fails for that reason.
func cursorError(cursor string, err error) error {
	if cursor != "" && errors.Is(err, ErrInvalidArgument) {
		return invalidf("the cursor's revision can no longer be read (%v): start again without it", err)
	}
	return err
}
