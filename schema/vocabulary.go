package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// The schema's names, as the Go code uses them: every object type,
// relation and permission the code reads, writes or checks is named here
// once, and Vocabulary says on which type each is used, so that a schema
// missing one fails CheckVocabulary at start rather than at the first
// request that needs it.

// Object types.
const (
	TypeUser         = "user"
	TypeContact      = "contact"
	TypeHost         = "host"
	TypeAccount      = "account"
	TypeProductGroup = "product_group"
	TypeTag          = "tag"
	TypeProduct      = "product"
	TypeAdminSeat    = "admin_seat"
	TypeInvitation   = "invitation"
	TypeMembership   = "membership"
	TypeOperation    = "operation"
)

// Relations of host.
const (
	RelHostAdmin = "admin"
	RelHostStaff = "staff"
)

// Relations of account (the rights are relations named after them).
const (
	RelAccountHost        = "host"
	RelDelegatedTo        = "delegated_to"
	RelOwner              = "owner"
	RelMember             = "member"
	RelAdministrator      = "administrator"
	RelTechnical          = "technical"
	RelContact            = "contact"
	RelSupportContact     = "support_contact"
	RelBillingNotices     = "billing_notices"
	RelRenewalNotices     = "renewal_notices"
	RelDomainNotices      = "domain_notices"
	RelTechnicalNotices   = "technical_notices"
	RelSupportNotices     = "support_notices"
	RelRightBilling       = "billing"
	RelRightSupport       = "support"
	RelRightDomains       = "domains"
	RelRightSecurity      = "security"
	RelRightUserMgmt      = "user_management"
	RelRightProfile       = "profile"
	RelRightReadOnly      = "read_only"
	PermAccess            = "access"
	PermSwitchTo          = "switch_to"
	PermView              = "view"
	PermAttached          = "attached"
	PermPayInvoices       = "pay_invoices"
	PermOpenTicket        = "open_ticket"
	PermManageDomains     = "manage_domains"
	PermManageSecurity    = "manage_security"
	PermManageUsers       = "manage_users"
	PermViewUsers         = "view_users"
	PermManageContacts    = "manage_contacts"
	PermGrantUserMgmt     = "grant_user_management"
	PermChangeDelegation  = "change_delegation"
	PermEditProfile       = "edit_profile"
	PermManageAllProducts = "manage_all_products"
	PermViewAllProducts   = "view_all_products"
	PermOrganizeProducts  = "organize_products"
	PermViewEverything    = "view_everything"
	PermActAsAdmin        = "act_as_administrator"
	PermClose             = "close"
	PermTransferOwnership = "transfer_ownership"
	PermSetAdminCap       = "set_admin_cap"
	PermManageAccounts    = "manage_accounts"
)

// Relations and permissions of products, groups, tags, seats, invitations,
// memberships and operations.
const (
	RelAccount    = "account" // the owning account of a product, group, tag or invitation
	RelGroup      = "group"
	RelTagged     = "tagged"
	RelTechnician = "technician"
	RelViewer     = "viewer"
	RelHolder     = "holder"
	RelInviter    = "inviter"
	RelVersion    = "version"
	RelApplied    = "applied"
	PermManage    = "manage"
	PermPending   = "pending"
)

// PermReceivePrefix + a notices relation is the permission listing who
// receives that category's notices (receive_billing_notices).
const PermReceivePrefix = "receive_"

// Use is one name the code uses on one object type ("" Name: the type itself).
type Use struct {
	Type string
	Name string
}

// Vocabulary is every name the code relies on, by object type.
var Vocabulary = append(uses(map[string][]string{
	TypeUser:    nil,
	TypeContact: nil,
	TypeHost:    {RelHostAdmin, RelHostStaff, PermManageAccounts},
	TypeAccount: {
		RelAccountHost, RelDelegatedTo, RelOwner, RelMember, RelAdministrator, RelTechnical,
		RelContact, RelSupportContact,
		RelBillingNotices, RelRenewalNotices, RelDomainNotices, RelTechnicalNotices, RelSupportNotices,
		RelRightBilling, RelRightSupport, RelRightDomains, RelRightSecurity, RelRightUserMgmt, RelRightProfile, RelRightReadOnly,
		PermAccess, PermSwitchTo, PermView, PermAttached, PermPayInvoices, PermOpenTicket, PermManageDomains,
		PermManageSecurity, PermManageUsers, PermViewUsers, PermManageContacts, PermGrantUserMgmt,
		PermChangeDelegation, PermEditProfile, PermManageAllProducts, PermViewAllProducts, PermOrganizeProducts,
		PermViewEverything, PermActAsAdmin, PermClose, PermTransferOwnership, PermSetAdminCap,
		PermReceivePrefix + RelBillingNotices, PermReceivePrefix + RelRenewalNotices, PermReceivePrefix + RelDomainNotices,
		PermReceivePrefix + RelTechnicalNotices, PermReceivePrefix + RelSupportNotices,
	},
	TypeProductGroup: {RelAccount, RelTechnician, RelViewer, PermManage, PermView},
	TypeTag:          {RelAccount, RelTechnician, RelViewer, PermManage, PermView},
	TypeProduct: {
		RelAccount, RelGroup, RelTagged, RelTechnician, RelViewer, RelRenewalNotices, RelTechnicalNotices,
		PermManage, PermView, PermReceivePrefix + RelRenewalNotices, PermReceivePrefix + RelTechnicalNotices,
	},
	TypeAdminSeat:  {RelHolder},
	TypeInvitation: {RelAccount, RelInviter, PermPending},
	TypeMembership: {RelVersion},
	TypeOperation:  {RelApplied},
}), uses(tokenVocabulary())...)

func uses(byType map[string][]string) []Use {
	var out []Use
	for typ, names := range byType {
		out = append(out, Use{Type: typ})
		for _, n := range names {
			out = append(out, Use{Type: typ, Name: n})
		}
	}
	return out
}

// CheckVocabulary compiles a schema and reports every name of Vocabulary it
// lacks, as one error naming each ("account#manage_users").
func CheckVocabulary(schemaText string) error {
	compiled, err := compiler.Compile(compiler.InputSchema{
		Source: input.Source("schema"), SchemaString: schemaText,
	}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return fmt.Errorf("compiling the schema: %w", err)
	}
	defined := map[string]map[string]bool{}
	for _, def := range compiled.ObjectDefinitions {
		names := map[string]bool{}
		for _, r := range def.GetRelation() {
			names[r.GetName()] = true
		}
		defined[def.GetName()] = names
	}
	var missing []string
	for _, u := range Vocabulary {
		names, ok := defined[u.Type]
		switch {
		case !ok && u.Name == "":
			missing = append(missing, "definition "+u.Type)
		case ok && u.Name != "" && !names[u.Name]:
			missing = append(missing, u.Type+"#"+u.Name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("the schema lacks names hostaccess uses: %s", strings.Join(missing, ", "))
	}
	return nil
}
