package wire

import "net/http"

// Every endpoint of the API. Below an account, a path segment is the
// object's short name: the part of its id after "ACCOUNT/" (site for
// product acme/site, k3f9 for invitation acme/k3f9).
var (
	CreateAccount     = Endpoint{http.MethodPost, "/v1/accounts"}
	CloseAccount      = Endpoint{http.MethodDelete, "/v1/accounts/{account}"}
	SetAdminCap       = Endpoint{http.MethodPut, "/v1/accounts/{account}/admin-cap"}
	SetDelegation     = Endpoint{http.MethodPut, "/v1/accounts/{account}/delegation"}
	AddOwner          = Endpoint{http.MethodPost, "/v1/accounts/{account}/owners"}
	TransferOwnership = Endpoint{http.MethodPost, "/v1/accounts/{account}/transfer"}

	ListProducts           = Endpoint{http.MethodGet, "/v1/accounts/{account}/products"}
	AddProduct             = Endpoint{http.MethodPost, "/v1/accounts/{account}/products"}
	RemoveProduct          = Endpoint{http.MethodDelete, "/v1/accounts/{account}/products/{product}"}
	AddProductToGroup      = Endpoint{http.MethodPut, "/v1/accounts/{account}/products/{product}/groups/{group}"}
	RemoveProductFromGroup = Endpoint{http.MethodDelete, "/v1/accounts/{account}/products/{product}/groups/{group}"}
	TagProduct             = Endpoint{http.MethodPut, "/v1/accounts/{account}/products/{product}/tags/{tag}"}
	UntagProduct           = Endpoint{http.MethodDelete, "/v1/accounts/{account}/products/{product}/tags/{tag}"}

	ListInvitations      = Endpoint{http.MethodGet, "/v1/accounts/{account}/invitations"}
	Invite               = Endpoint{http.MethodPost, "/v1/accounts/{account}/invitations"}
	RevokeInvitation     = Endpoint{http.MethodDelete, "/v1/accounts/{account}/invitations/{invitation}"}
	RegenerateInvitation = Endpoint{http.MethodPost, "/v1/accounts/{account}/invitations/{invitation}/regenerate"}
	AcceptInvitation     = Endpoint{http.MethodPost, "/v1/invitations/accept"}

	ListMembers  = Endpoint{http.MethodGet, "/v1/accounts/{account}/members"}
	SetAccess    = Endpoint{http.MethodPut, "/v1/accounts/{account}/members/{user}/access"}
	RemoveMember = Endpoint{http.MethodDelete, "/v1/accounts/{account}/members/{user}"}
	Expiring     = Endpoint{http.MethodGet, "/v1/accounts/{account}/expiring"}
	AccessReview = Endpoint{http.MethodGet, "/v1/accounts/{account}/review"}

	ListContacts  = Endpoint{http.MethodGet, "/v1/accounts/{account}/contacts"}
	AddContact    = Endpoint{http.MethodPost, "/v1/accounts/{account}/contacts"}
	UpdateContact = Endpoint{http.MethodPut, "/v1/accounts/{account}/contacts/{contact}"}
	RemoveContact = Endpoint{http.MethodDelete, "/v1/accounts/{account}/contacts/{contact}"}
	Recipients    = Endpoint{http.MethodGet, "/v1/accounts/{account}/recipients"}
	AuditLog      = Endpoint{http.MethodGet, "/v1/accounts/{account}/audit"}

	// Personal access tokens (docs/tokens.md): {token} is the short name.
	ListTokens  = Endpoint{http.MethodGet, "/v1/accounts/{account}/tokens"}
	CreateToken = Endpoint{http.MethodPost, "/v1/accounts/{account}/tokens"}
	RevokeToken = Endpoint{http.MethodDelete, "/v1/accounts/{account}/tokens/{token}"}
	CheckToken  = Endpoint{http.MethodPost, "/v1/tokens/check"}

	// The change log as evidence (docs/audit.md): across accounts, the
	// hash chain's export, its live feed and its verification.
	AuditSearch = Endpoint{http.MethodGet, "/v1/audit"}
	AuditExport = Endpoint{http.MethodGet, "/v1/audit/export"}
	AuditFeed   = Endpoint{http.MethodGet, "/v1/audit/feed"}
	AuditVerify = Endpoint{http.MethodGet, "/v1/audit/verify"}

	SwitchAccounts = Endpoint{http.MethodGet, "/v1/users/{user}/accounts"}
	ReachOf        = Endpoint{http.MethodGet, "/v1/users/{user}/reach"}
	WhoCan         = Endpoint{http.MethodGet, "/v1/who-can"}
	WhyDenied      = Endpoint{http.MethodPost, "/v1/why-denied"}
	Check          = Endpoint{http.MethodPost, "/v1/check"}
	CheckBulk      = Endpoint{http.MethodPost, "/v1/check-bulk"}

	OpenAPI = Endpoint{http.MethodGet, "/openapi.json"}
)

// ChainHeadHeader is the export's header naming the newest link of the
// chain it runs to, POSITION:HASH (directory.FormatLink): what an offline
// verify checks the last line against.
const ChainHeadHeader = "X-Hostaccess-Chain-Head"
