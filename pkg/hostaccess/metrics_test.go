package hostaccess_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// TestFlowOutcomesAreCounted: each flow counts once in
// hostaccess_flows_total, under the name its audit entries carry, as ok,
// refused, conflict or error.
func TestFlowOutcomesAreCounted(t *testing.T) {
	f := newFaultyFixture(t)
	before := flowCounts(t)

	billing := hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}
	_, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", billing)
	require.NoError(t, err)
	_, err = f.svc.Invite(ctx, hostaccess.Person("mallory"), "acme", "mallory@example.com", billing)
	requireCode(t, err, "forbidden")
	require.Error(t, f.svc.SetAdminCap(ctx, alice, "acme", 0))
	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", OwnerID: "bob"})
	requireCode(t, err, "conflict")
	f.engine.mode.Store(writeFailsBefore)
	_, err = f.svc.Invite(ctx, alice, "acme", "dave@example.com", billing)
	requireCode(t, err, "unavailable")

	moved := map[string]float64{}
	for k, v := range flowCounts(t) {
		if d := v - before[k]; d != 0 {
			moved[k] = d
		}
	}
	require.Equal(t, map[string]float64{
		"invite/ok": 1, "invite/refused": 1, "invite/error": 1,
		"set_admin_cap/refused": 1, "create_account/conflict": 1,
	}, moved)

	// The labels are the audit log's names of the flows.
	counted := map[string]bool{}
	for k := range flowCounts(t) {
		counted[strings.Split(k, "/")[0]] = true
	}
	for flow := range f.auditFlows() {
		require.True(t, counted[strings.Split(flow, ":")[0]], "audited flow %s is counted", flow)
	}
}

// flowCounts reads hostaccess_flows_total from the default registry, as
// /metrics serves it: "flow/outcome" -> count.
func flowCounts(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, fam := range families {
		if fam.GetName() != "hostaccess_flows_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			counts[labels["flow"]+"/"+labels["outcome"]] = m.GetCounter().GetValue()
		}
	}
	return counts
}

// TestChecksCountInFreshnessMetrics: a check through the service is one
// SpiceDB request at least as fresh as the account's token, which the
// account's flows left in memory.
func TestChecksCountInFreshnessMetrics(t *testing.T) {
	f := newFixture(t)
	at := counterValue(t, "hostaccess_freshness_requests_total", "consistency", "at_least_as_fresh")
	hits := counterValue(t, "hostaccess_freshness_token_lookups_total", "result", "hit")
	require.True(t, f.can("user:alice", "account:acme", "pay_invoices"))
	require.Equal(t, at+1, counterValue(t, "hostaccess_freshness_requests_total", "consistency", "at_least_as_fresh"))
	require.Equal(t, hits+1, counterValue(t, "hostaccess_freshness_token_lookups_total", "result", "hit"))
}

// counterValue reads one series of a counter of the default registry.
func counterValue(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
