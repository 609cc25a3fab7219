// Package directorytest is the conformance suite every directory.Store must
// pass. An implementation's test calls RunConformance with a function that
// builds a fresh, empty store.
//
// The suite only assumes what a database can keep: times are truncated to
// microseconds and compared as instants (not by location), JSON is compared
// by meaning (jsonb rewrites whitespace), and audit Seq values are only
// required to increase, not to be consecutive (sequences have gaps).
package directorytest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// RunConformance runs the suite as subtests of t. newStore must return a new,
// empty store, independent of every other it returned: it is called once per
// subtest, and more than once by the backup subtests, which copy one store
// into another. The suite closes each store (and requires Close to succeed)
// when the subtest ends, before any cleanup newStore registered on t runs.
func RunConformance(t *testing.T, newStore func(t *testing.T) directory.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s directory.Store)
	}{
		{"Ping", testPing},
		{"Accounts", testAccounts},
		{"AccountConflict", testAccountConflict},
		{"AccountNotFound", testAccountNotFound},
		{"GetAccounts", testGetAccounts},
		{"People", testPeople},
		{"GetPeople", testGetPeople},
		{"Invitations", testInvitations},
		{"InvitationConflict", testInvitationConflict},
		{"InvitationNotFound", testInvitationNotFound},
		{"ListInvitations", testListInvitations},
		{"SetInvitationStatus", testSetInvitationStatus},
		{"SetInvitationStatusConcurrent", testSetInvitationStatusConcurrent},
		{"Tokens", testTokens},
		{"ListTokens", testListTokens},
		{"SetTokenStatus", testSetTokenStatus},
		{"SetTokenStatusConcurrent", testSetTokenStatusConcurrent},
		{"Contacts", testContacts},
		{"GetContacts", testGetContacts},
		{"ListContacts", testListContacts},
		{"AccessRequests", testAccessRequests},
		{"AccessRequestConflict", testAccessRequestConflict},
		{"AccessRequestNotFound", testAccessRequestNotFound},
		{"ListAccessRequests", testListAccessRequests},
		{"SetAccessRequestStatus", testSetAccessRequestStatus},
		{"SetAccessRequestStatusConcurrent", testSetAccessRequestStatusConcurrent},
		{"AccessRequestCopies", testAccessRequestCopies},
		{"AppendAudit", testAppendAudit},
		{"ListAudit", testListAudit},
		{"ListAuditPaging", testListAuditPaging},
		{"ListAuditDefaultLimit", testListAuditDefaultLimit},
		{"ListAuditFilters", testListAuditFilters},
		{"AuditChainSeals", testAuditChainSeals},
		{"AuditChainConcurrent", testAuditChainConcurrent},
		{"AuditChainAccount", testAuditChainAccount},
		{"PruneAudit", testPruneAudit},
		{"CopiesNotAliases", testCopiesNotAliases},
		{"AuditOutcome", testAuditOutcome},
		{"AuditRecoveryJSON", testAuditRecoveryJSON},
		{"ListAuditIntents", testListAuditIntents},
		{"ListAuditIntentsDefaultLimit", testListAuditIntentsDefaultLimit},
		{"SettleAudit", testSettleAudit},
		{"SettleAuditConcurrent", testSettleAuditConcurrent},
		{"Freshness", testFreshness},
		{"FreshnessConcurrent", testFreshnessConcurrent},
		{"FreshnessExpiries", testFreshnessExpiries},
		{"ExportAll", testExportAll},
		{"ImportAll", testImportAll},
		{"ImportAllAtomic", testImportAllAtomic},
		{"ImportAllConcurrent", testImportAllConcurrent},
		{"BackupCopiesNotAliases", testBackupCopiesNotAliases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, openStore(t, newStore))
		})
	}
	// Subtests that need more than one store.
	multi := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) directory.Store)
	}{
		{"BackupRoundTrip", testBackupRoundTrip},
		{"ImportAllNotEmpty", testImportAllNotEmpty},
		{"AuditChainDetectsEdit", testAuditChainDetectsEdit},
		{"AuditChainDetectsDelete", testAuditChainDetectsDelete},
		{"AuditChainBackup", testAuditChainBackup},
	}
	for _, tc := range multi {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, func(t *testing.T) directory.Store { return openStore(t, newStore) })
		})
	}
}

// openStore builds a store and closes it when the test ends.
func openStore(t *testing.T, newStore func(t *testing.T) directory.Store) directory.Store {
	t.Helper()
	s := newStore(t)
	// Registered after newStore's cleanups, so it runs before them.
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// now is the current time as a database keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func testPing(t *testing.T, s directory.Store) {
	require.NoError(t, s.Ping(t.Context()))
}
