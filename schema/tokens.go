package schema

// Names of personal access tokens (docs/tokens.md).
const (
	TypeToken  = "token"
	RelTokens  = "tokens"  // user#tokens: the person's tokens, with expiry and IP allowlist
	RelCreator = "creator" // token#creator

	// TokenPrefix names what a token was given (account#token_billing,
	// product#token_technician) and the permissions asked of a token
	// (account#token_pay_invoices, product#token_manage).
	TokenPrefix = "token_"
	// CaveatClientIP restricts a token to networks.
	CaveatClientIP = "client_ip_allowed"
)

// twinRelations maps a relation a person holds to the relation of its twin,
// whose subject is user:ID#tokens: the creator's side of every token's
// reach.
var twinRelations = map[string]map[string]string{
	TypeAccount: {
		RelOwner: "token_owner", RelMember: "token_member", RelAdministrator: "token_administrator",
		RelRightBilling: "creator_billing", RelRightSupport: "creator_support", RelRightDomains: "creator_domains",
		RelRightSecurity: "creator_security", RelRightUserMgmt: "creator_user_management",
		RelRightProfile: "creator_profile", RelTechnical: "creator_technical", RelRightReadOnly: "creator_read_only",
	},
	TypeProduct:      {RelTechnician: "creator_technician", RelViewer: "creator_viewer"},
	TypeProductGroup: {RelTechnician: "creator_technician", RelViewer: "creator_viewer"},
	TypeTag:          {RelTechnician: "creator_technician", RelViewer: "creator_viewer"},
}

// TwinRelation is the relation twinning a person's relation on an object
// type, and whether it has one.
func TwinRelation(objectType, relation string) (string, bool) {
	twin, ok := twinRelations[objectType][relation]
	return twin, ok
}

// tokenPermissions are the permissions a token can be asked, by object
// type; each has its token_ counterpart in the schema.
var tokenPermissions = map[string][]string{
	TypeAccount: {
		PermPayInvoices, "view_invoices", PermOpenTicket, "view_tickets", PermManageDomains, "view_domains",
		PermManageSecurity, "view_security", PermManageUsers, PermViewUsers, PermEditProfile, "view_profile",
		PermManageAllProducts, PermViewAllProducts,
	},
	TypeProduct:      {PermManage, PermView},
	TypeProductGroup: {PermManage, PermView},
	TypeTag:          {PermManage, PermView},
}

// TokenPermission is the permission answering permission for a token
// subject ("pay_invoices" -> "token_pay_invoices"), and whether a token can
// hold it at all.
func TokenPermission(objectType, permission string) (string, bool) {
	for _, p := range tokenPermissions[objectType] {
		if p == permission {
			return TokenPrefix + permission, true
		}
	}
	return "", false
}

// tokenVocabulary is every token name the code relies on, for Vocabulary.
func tokenVocabulary() map[string][]string {
	out := map[string][]string{
		TypeToken: {RelAccount, RelCreator, PermManage},
		TypeUser:  {RelTokens},
	}
	for typ, twins := range twinRelations {
		for rel, twin := range twins {
			out[typ] = append(out[typ], twin)
			if typ == TypeAccount && rel != RelOwner && rel != RelMember && rel != RelAdministrator {
				out[typ] = append(out[typ], TokenPrefix+rel) // what a token is given
			}
			if typ != TypeAccount {
				out[typ] = append(out[typ], TokenPrefix+rel)
			}
		}
	}
	for typ, perms := range tokenPermissions {
		for _, p := range perms {
			out[typ] = append(out[typ], TokenPrefix+p)
		}
	}
	return out
}
