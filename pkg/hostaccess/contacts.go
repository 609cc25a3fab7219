package hostaccess

import (
	"context"
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// ContactInput is a contact's details and subscriptions. A contact has no
// login and holds no access right: its only reach is the notifications
// chosen here and, with SupportAccess, speaking to support for the account.
type ContactInput struct {
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Phone         string     `json:"phone,omitempty"`
	Notifications []Category `json:"notifications,omitempty"`
	SupportAccess bool       `json:"support_access,omitempty"`
}

// Contact is a contact of an account.
type Contact struct {
	ID string `json:"id"`
	ContactInput
}

func (in ContactInput) normalize() (ContactInput, error) {
	if err := in.validate(); err != nil {
		return ContactInput{}, err
	}
	if in.Name == "" {
		return ContactInput{}, invalidf("a contact needs a name")
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return ContactInput{}, err
	}
	in.Email = email
	in.Notifications = uniqueSorted(in.Notifications)
	for _, c := range in.Notifications {
		if _, ok := categoryRelation[c]; !ok {
			return ContactInput{}, invalidf("unknown notification category %q", c)
		}
	}
	return in, nil
}

func contactTuples(accountID, contactID string, in ContactInput) []*v1.Relationship {
	rels := []*v1.Relationship{relationship(typeAccount, accountID, schema.RelContact, typeContact, contactID)}
	for _, c := range in.Notifications {
		rels = append(rels, relationship(typeAccount, accountID, categoryRelation[c], typeContact, contactID))
	}
	if in.SupportAccess {
		rels = append(rels, relationship(typeAccount, accountID, schema.RelSupportContact, typeContact, contactID))
	}
	return rels
}

// AddContact adds a contact to an account. Holders of user management add,
// edit and remove contacts.
func (s *Service) AddContact(ctx context.Context, actor Actor, accountID string, in ContactInput) (_ Contact, _ Result, err error) {
	defer countFlow("add_contact", &err)
	in, err = in.normalize()
	if err != nil {
		return Contact{}, Result{}, err
	}
	if _, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageContacts, "manage the contacts of "+accountID); err != nil {
		return Contact{}, Result{}, err
	}
	id, err := newID(accountID)
	if err != nil {
		return Contact{}, Result{}, err
	}
	now := s.now().UTC()
	record := directory.Contact{ID: id, AccountID: accountID, Name: in.Name, Email: in.Email, Phone: in.Phone, CreatedAt: now, UpdatedAt: now}
	var updates []*v1.RelationshipUpdate
	for _, r := range contactTuples(accountID, id, in) {
		updates = append(updates, touch(r))
	}
	token, err := s.commit(ctx, change{
		actor: actor, flow: "add_contact", accountID: accountID, target: "contact:" + id, after: in,
		prepare: func(ctx context.Context) error { return fromDirectory(s.dir.PutContact(ctx, record), "contact "+id) },
		updates: updates,
		undo:    []step{{DeleteContact: id}},
	})
	if err != nil {
		return Contact{}, Result{}, err
	}
	return Contact{ID: id, ContactInput: in}, result(token), nil
}

// UpdateContact replaces a contact's details and subscriptions.
func (s *Service) UpdateContact(ctx context.Context, actor Actor, accountID, contactID string, in ContactInput) (_ Result, err error) {
	defer countFlow("update_contact", &err)
	in, err = in.normalize()
	if err != nil {
		return Result{}, err
	}
	existing, st, err := s.loadContact(ctx, actor, accountID, contactID)
	if err != nil {
		return Result{}, err
	}
	before := s.contactFrom(existing, st)
	updated := existing
	updated.Name, updated.Email, updated.Phone, updated.UpdatedAt = in.Name, in.Email, in.Phone, s.now().UTC()
	token, err := s.commit(ctx, change{
		actor: actor, flow: "update_contact", accountID: accountID, target: "contact:" + contactID, before: before.ContactInput, after: in,
		updates: diff(st.find("", "", "", typeContact, contactID), contactTuples(accountID, contactID, in)),
		then:    []step{{PutContact: &updated}},
	})
	if err != nil {
		return Result{}, err
	}
	return result(token), nil
}

// RemoveContact removes a contact and all its subscriptions at once.
func (s *Service) RemoveContact(ctx context.Context, actor Actor, accountID, contactID string) (_ Result, err error) {
	defer countFlow("remove_contact", &err)
	existing, st, err := s.loadContact(ctx, actor, accountID, contactID)
	if err != nil {
		return Result{}, err
	}
	var updates []*v1.RelationshipUpdate
	for _, r := range st.find("", "", "", typeContact, contactID) {
		updates = append(updates, remove(r))
	}
	token, err := s.commit(ctx, change{
		actor: actor, flow: "remove_contact", accountID: accountID, target: "contact:" + contactID, before: s.contactFrom(existing, st).ContactInput,
		updates: updates,
		then:    []step{{DeleteContact: contactID}},
	})
	if err != nil {
		return Result{}, err
	}
	return result(token), nil
}

// ListContacts lists an account's contacts with their subscriptions.
func (s *Service) ListContacts(ctx context.Context, actor Actor, accountID string) ([]Contact, error) {
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "see the contacts of "+accountID)
	if err != nil {
		return nil, err
	}
	stored, err := s.dir.ListContacts(ctx, accountID)
	if err != nil {
		return nil, fromDirectory(err, "contacts of "+accountID)
	}
	out := make([]Contact, 0, len(stored))
	for _, c := range stored {
		if st.has(typeAccount, accountID, schema.RelContact, typeContact, c.ID) {
			out = append(out, s.contactFrom(c, st))
		}
	}
	return out, nil
}

func (s *Service) loadContact(ctx context.Context, actor Actor, accountID, contactID string) (directory.Contact, *accountState, error) {
	if err := validObjectID("contact id", contactID); err != nil {
		return directory.Contact{}, nil, err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageContacts, "manage the contacts of "+accountID)
	if err != nil {
		return directory.Contact{}, nil, err
	}
	c, err := s.dir.GetContact(ctx, contactID)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && c.AccountID != accountID) {
		return directory.Contact{}, nil, notFoundf("contact %s in account %s", contactID, accountID)
	}
	if err != nil {
		return directory.Contact{}, nil, fromDirectory(err, "contact "+contactID)
	}
	return c, st, nil
}

func (s *Service) contactFrom(c directory.Contact, st *accountState) Contact {
	out := Contact{ID: c.ID, ContactInput: ContactInput{Name: c.Name, Email: c.Email, Phone: c.Phone}}
	for _, cat := range Categories {
		if st.has(typeAccount, st.id, categoryRelation[cat], typeContact, c.ID) {
			out.Notifications = append(out.Notifications, cat)
		}
	}
	out.SupportAccess = st.has(typeAccount, st.id, schema.RelSupportContact, typeContact, c.ID)
	return out
}

// Recipient is someone who must receive a notification.
type Recipient struct {
	Kind  string `json:"kind"` // "user" or "contact"
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Recipients lists who must receive a notification category for an account
// (or, with product set, for one product of it): owners, subscribed members
// and subscribed contacts still attached to the account.
func (s *Service) Recipients(ctx context.Context, actor Actor, accountID, product string, category Category) ([]Recipient, error) {
	if _, ok := categoryRelation[category]; !ok {
		return nil, invalidf("unknown notification category %q", category)
	}
	if _, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "see the recipients of "+accountID); err != nil {
		return nil, err
	}
	resource := accountRef(accountID)
	if product != "" {
		if category != CategoryRenewals && category != CategoryTechnical {
			return nil, invalidf("products have renewal and technical notifications only")
		}
		if err := validName("product", product); err != nil {
			return nil, err
		}
		resource = ref(typeProduct, objectID(accountID, product))
	}
	var out []Recipient
	for _, typ := range []string{typeUser, typeContact} {
		ids, err := s.lookupSubjects(ctx, resource, recipientPermission(category), typ)
		if err != nil {
			return nil, err
		}
		switch typ {
		case typeUser:
			people, err := s.dir.GetPeople(ctx, ids)
			if err != nil {
				return nil, fromDirectory(err, "people")
			}
			for _, id := range ids {
				out = append(out, Recipient{Kind: typeUser, ID: id, Name: people[id].DisplayName, Email: people[id].Email})
			}
		case typeContact:
			contacts, err := s.dir.GetContacts(ctx, ids)
			if err != nil {
				return nil, fromDirectory(err, "contacts")
			}
			for _, id := range ids {
				out = append(out, Recipient{Kind: typeContact, ID: id, Name: contacts[id].Name, Email: contacts[id].Email})
			}
		}
	}
	return out, nil
}
