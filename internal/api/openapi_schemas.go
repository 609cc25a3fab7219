package api

import (
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// schemaDocs is what the OpenAPI document says of the Go types beyond their
// shape: descriptions and the limits the domain enforces (hostaccess.Max*,
// held to the domain by TestOpenAPILimitsMatchTheDomain). Keyed by schema
// name (the Go type's) and JSON field name; a test refuses a key that names
// no type or field.
var schemaDocs = map[string]schemaDoc{
	"Problem": {description: "An RFC 9457 problem detail.", fields: map[string]prop{
		"type":   {description: "https://hostaccess.dev/problems/<code>", format: "uri"},
		"title":  {description: "A short summary of the problem kind."},
		"status": {description: "The HTTP status."},
		"detail": {description: "What went wrong with this request. For internal and unavailable, a generic message."},
		"code":   {description: "The stable machine code.", enum: []string{"invalid_argument", "not_found", "forbidden", "escalation", "last_owner", "owner_holds_every_right", "admin_cap_reached", "conflict", "invitation_expired", "invitation_revoked", "invitation_regenerated", "invitation_used", "invitation_not_pending", "invitation_not_found", "email_mismatch", "email_not_verified", "unavailable", "internal", "unauthenticated", "insufficient_scope", "method_not_allowed", "unsupported_media_type"}},
	}},
	"Result": {fields: map[string]prop{
		"zed_token": {description: "Revision of the write: pass it as at_least_as_fresh to read your own writes."},
	}},
	"Right":    {description: "An account-wide right category."},
	"Category": {description: "A notification category."},
	"ProductScope": {description: "Where technical or read access applies; empty means no product.", fields: map[string]prop{
		"all":      {description: "Every product of the account, now and later."},
		"products": {description: "Product names (relative to the account).", items: &prop{pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen}},
		"groups":   {description: "Product group names.", items: &prop{pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen}},
		"tags":     {description: "Tag names: every product carrying the tag, now and later.", items: &prop{pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen}},
	}},
	"Access": {description: "What a member holds on an account.", optional: []string{"technical", "view"}, fields: map[string]prop{
		"administrator": {description: "The Administrator role (counted against the account's cap)."},
		"expires_at":    {description: "Ends the membership, and every grant with it. Must be in the future, and at most 10 years away."},
	}},
	"CreateAccountRequest": {fields: map[string]prop{
		"id":          {pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"name":        {description: "Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxNameLen},
		"owner_id":    {pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"owner_email": {format: "email", maxLength: hostaccess.MaxEmailLen},
		"owner_name":  {description: "Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxNameLen},
		"host_id":     {description: "The provider or reseller the account belongs to; creating for a host needs its staff or a service actor.", pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"delegated":   {description: "Let the host's staff manage the account's users (needs host_id). Absent: on for an account created with a host_id (a managed account), off otherwise."},
	}},
	"AdminCapRequest": {fields: map[string]prop{
		"cap": {minimum: ptr(1), maximum: ptr(100)},
	}},
	"AddOwnerRequest": {fields: map[string]prop{
		"user_id": {description: "A member to make an owner.", pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
	}},
	"TransferRequest": {fields: map[string]prop{
		"to":   {description: "The member who becomes owner.", pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"keep": {description: "What the previous owner keeps as a member; absent: they leave."},
	}},
	"AddProductRequest": {fields: map[string]prop{
		"name":   {pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"groups": {items: &prop{pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen}},
		"tags":   {items: &prop{pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen}},
	}},
	"InviteRequest": {fields: map[string]prop{
		"email": {format: "email", maxLength: hostaccess.MaxEmailLen},
	}},
	"AcceptRequest": {fields: map[string]prop{
		"token":          {description: "The token of the invitation link.", maxLength: hostaccess.MaxTokenLen},
		"user_id":        {description: "The accepting login.", pattern: hostaccess.NamePattern, minLength: 1, maxLength: hostaccess.MaxIDLen},
		"email":          {description: "The login's e-mail; must be the invited one.", format: "email", maxLength: hostaccess.MaxEmailLen},
		"email_verified": {description: "Whether the login system verified that e-mail; must be true."},
		"display_name":   {description: "Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxNameLen},
	}},
	"ContactInput": {description: "A contact's details and subscriptions (a person without a login).", fields: map[string]prop{
		"name":           {description: "Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxNameLen},
		"email":          {format: "email", maxLength: hostaccess.MaxEmailLen},
		"phone":          {description: "Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxPhoneLen},
		"support_access": {description: "May speak to support on the account's behalf."},
	}},
	"Check": {fields: map[string]prop{
		"resource":   {description: "TYPE:ID, e.g. account:acme or product:acme/site."},
		"permission": {description: "A permission of schema/hosting.zed, e.g. pay_invoices, manage."},
		"subject":    {description: "TYPE:ID, e.g. user:carol, or token:ACCOUNT/ID (asked as the permission's token_ counterpart)."},
		"context":    {description: checkContextDoc},
	}},
	"CheckRequest": {fields: map[string]prop{
		"resource":          {description: "TYPE:ID, e.g. account:acme or product:acme/site."},
		"subject":           {description: "TYPE:ID, e.g. user:carol, or token:ACCOUNT/ID (asked as the permission's token_ counterpart)."},
		"context":           {description: checkContextDoc},
		"at_least_as_fresh": {description: "A zed_token from a write (through any node): the answer reflects at least that write. Absent: at least as fresh as the last change to the resource's account known to the serving node (docs/consistency.md). Not a token of this engine: 400 invalid_argument."},
	}},
	"CheckBulkRequest": {fields: map[string]prop{
		"checks":            {maxItems: hostaccess.MaxBulkChecks},
		"at_least_as_fresh": {description: "A zed_token from a write (through any node): the answer reflects at least that write. Absent: at least as fresh as the last change to the resource's account known to the serving node (docs/consistency.md). Not a token of this engine: 400 invalid_argument."},
	}},
	"Product": {fields: map[string]prop{
		"id": {description: "ACCOUNT/NAME"},
	}},
	"Invitation": {fields: map[string]prop{
		"expires_at": {description: "When the link stops working: created_at plus the server's invitation TTL (serve --invitation-ttl, default 168h = 7 days, at least 1m), cut to the second; regenerating starts a new period; accepting after it is 410 invitation_expired. Not the membership's end, which is access.expires_at."},
		"status":     {enum: []string{"pending", "accepted", "revoked", "superseded", "expired"}},
	}},
	"InvitationLink": {fields: map[string]prop{
		"token":       {description: "The invitation token (shown once; only its hash is stored)."},
		"url":         {description: "The link to copy, when a URL template is configured."},
		"email_error": {description: "Why the e-mail was not sent (the link still works)."},
	}},
	"Acceptance": {fields: map[string]prop{
		"access": {description: "What the person now holds."},
		"merged": {description: "The person already had access; the invitation added to it."},
		"owner":  {description: "The person owns the account (nothing added)."},
	}},
	"AccessRequestInput": {description: "What a member asks for, and why.", fields: map[string]prop{
		"access": {description: "What to add to what the member holds: rights, the administrator role, technical or view product scopes. No expires_at nor notifications."},
		"reason": {description: "Why, for those who decide. Required; printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", minLength: 1, maxLength: hostaccess.MaxReasonLen},
	}},
	"AccessRequest": {description: "A member's request for access they lack.", fields: map[string]prop{
		"id":         {description: "ACCOUNT/ID"},
		"user_id":    {description: "The member who asked."},
		"access":     {description: "What approving adds: what was asked, less what the member held when asking."},
		"status":     {description: "expired: still undecided past expires_at; it can no longer be decided.", enum: []string{hostaccess.RequestPending, hostaccess.RequestApproved, hostaccess.RequestRefused, hostaccess.RequestExpired}},
		"expires_at": {description: "created_at plus 7 days, cut to the second."},
		"decided_by": {description: "Who approved or refused it: user:ID or service:NAME."},
		"note":       {description: "The decider's note."},
	}},
	"DecisionRequest": {fields: map[string]prop{
		"note": {description: "Why, for the requester and the audit log. Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", maxLength: hostaccess.MaxNoteLen},
	}},
	"Contact": {fields: map[string]prop{
		"id": {description: "ACCOUNT/ID"},
	}},
	"Recipient": {fields: map[string]prop{
		"kind": {enum: []string{"user", "contact"}},
	}},
	"AuditEntry": {fields: map[string]prop{
		"seq":     {description: "Increasing; pass as before= to page.", format: "int64"},
		"actor":   {description: "user:ID or service:NAME"},
		"flow":    {description: "invite, accept_invitation, set_access, ..."},
		"before":  {description: "The state before, as the flow recorded it."},
		"after":   {description: "The state after."},
		"outcome": {description: "applied, or intent while a change interrupted by a crash awaits recovery (docs/durability.md).", enum: []string{"applied", "intent"}},
	}},
	"AuditEntries": {fields: map[string]prop{
		"entries": {description: "Newest first."},
	}},
	"AccessReview": {description: "Every person with access to the account, one line per right or product scope, at one revision.", fields: map[string]prop{
		"delegated":    {description: "The host's staff manage the account's users: their lines are held through delegation."},
		"filter":       {description: "What the lines were selected by."},
		"generated_at": {description: "When the review was made."},
		"at":           {description: "The revision (a ZedToken) every line is read at."},
		"people":       {description: "How many distinct people the lines name."},
		"lines":        {description: "Owners first, then members by user id, then host staff."},
	}},
	"ReviewLine": {description: "One right or product scope one person holds.", fields: map[string]prop{
		"role":       {enum: []string{hostaccess.RoleOwner, hostaccess.RoleAdministrator, hostaccess.RoleMember, hostaccess.RoleHostAdmin, hostaccess.RoleHostStaff}},
		"right":      {description: "A right category, technical or view (with a product scope), administrator (the role), access (a member without rights: may log in, nothing more), or for host staff user_management (host admins) or view_users (host staff)."},
		"scope":      {description: "What it applies to: account, all products, product NAME, group NAME or tag NAME."},
		"held":       {description: "How it is held.", enum: []string{hostaccess.HeldOwnership, hostaccess.HeldDirect, hostaccess.HeldGroup, hostaccess.HeldTag, hostaccess.HeldAllProducts, hostaccess.HeldDelegation}},
		"through":    {description: "The group, tag or host (host:ID) it is held through."},
		"granted_by": {description: "Who granted it, from the audit trail (user:ID or service:NAME; the inviter for an accepted invitation). Absent when the trail does not record it."},
		"granted_at": {description: "When it was granted (for an invitation, when it was accepted). Absent when the trail does not record it."},
		"ends":       {description: "When it ends (a time-bound membership); absent: no end."},
		"networks":   {description: "The only networks the line holds from (the membership's allowed_cidrs); absent: any."},
		"needs_mfa":  {description: "The line's right is used only in a two-factor session (serve --mfa-rights, on an account with a host)."},
	}},
	"ReviewFilter": {fields: map[string]prop{
		"expiring_within_days": {description: "Only lines ending within this many days.", minimum: ptr(1), maximum: ptr(hostaccess.MaxExpiringDays)},
		"granted_before_days":  {description: "Only lines granted more than this many days ago.", minimum: ptr(1), maximum: ptr(hostaccess.MaxGrantedBeforeDays)},
		"delegation":           {description: "Only lines held through delegation."},
	}},
	"SwitchList": {fields: map[string]prop{
		"single": {description: "Set when the person has exactly one account."},
	}},
	"AccessReport": {fields: map[string]prop{
		"products": {description: "Products the person can manage, by id (ACCOUNT/NAME)."},
	}},
	"Holder": {fields: map[string]prop{
		"reasons": {description: "The grants that give it: account:acme#owner, tag:acme/client-x#technician, host:nordhost#admin (delegation)."},
	}},
	"Answer": {fields: map[string]prop{
		"conditional":     {description: "The answer depends on missing caveat context: never allowed; missing_context names what to give."},
		"missing_context": {description: "The context keys a conditional answer lacks, e.g. client_ip."},
		"context":         {description: checkContextDoc},
		"error":           {description: "Why this question could not be answered (bulk only)."},
	}},
	"TokenInput": {description: "A personal access token to create: a subset of what its creator holds.", optional: []string{"technical", "view"}, fields: map[string]prop{
		"name":          {description: "What the token is for. Printable text: valid UTF-8, no control characters; the limit counts characters after trimming spaces.", minLength: 1, maxLength: hostaccess.MaxTokenNameLen},
		"rights":        {description: "Account-wide rights given; the creator must hold each."},
		"technical":     {description: "Products the token may manage; the creator must manage them."},
		"view":          {description: "Products the token may view; the creator must view them."},
		"expires_at":    {description: "Required: at least a minute ahead, at most the server's maximum token lifetime (90 days by default) and no later than the end of the creator's own access."},
		"allowed_cidrs": {description: "Networks the token may be used from, in CIDR notation with the host bits zero (203.0.113.0/24); absent: any. A check must then give client_ip in its context.", maxItems: hostaccess.MaxAllowedCIDRs},
	}},
	"Token": {description: "A personal access token as listed: never its secret.", fields: map[string]prop{
		"id":            {description: "ACCOUNT/ID; the subject of its checks is token:ACCOUNT/ID."},
		"creator":       {description: "The user id of the person who created it: it never reaches more than they hold."},
		"allowed_cidrs": {description: "The networks it may be used from; absent: any."},
		"status":        {enum: []string{"active", "expired", "revoked"}},
		"revoked_at":    {description: "When it was revoked (revoked only)."},
		"revoked_by":    {description: "Who revoked it: user:ID or service:NAME, with \"(creator removed)\" when removing its creator revoked it."},
	}},
	"NewToken": {description: "A token just created, with its secret.", fields: map[string]prop{
		"secret": {description: "The token's secret (" + hostaccess.TokenSecretPrefix + "...): shown once, only its hash is stored. Keep it out of logs."},
	}},
	"TokenList": {fields: map[string]prop{
		"tokens": {description: "Oldest first."},
	}},
	"TokenCheckRequest": {fields: map[string]prop{
		"secret":            {description: "The token's secret (" + hostaccess.TokenSecretPrefix + "...), as the request to the panel carried it.", maxLength: hostaccess.MaxTokenLen},
		"resource":          {description: "TYPE:ID, e.g. account:acme or product:acme/site."},
		"permission":        {description: "A permission of schema/hosting.zed, e.g. pay_invoices, manage (asked as its token_ counterpart)."},
		"context":           {description: checkContextDoc},
		"at_least_as_fresh": {description: "A zed_token from a write (through any node): the answer reflects at least that write."},
	}},
	"TokenAnswer": {description: "The answer to a token check, with the token (subject is token:ACCOUNT/ID, never the secret).", fields: map[string]prop{
		"token": {description: "The token the secret names, as listed: its status says why an inactive one is denied."},
	}},
}

// checkContextDoc describes a check's caveat context.
var checkContextDoc = fmt.Sprintf("The caveats' values, e.g. {\"client_ip\": \"203.0.113.7\"} for a token restricted to networks; at most %d bytes as JSON. Without a value a caveat needs, the answer is conditional, never allowed.", hostaccess.MaxContextBytes)
