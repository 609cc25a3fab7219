package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The conditions set runs tiny with every answer right: plain, token:ID and
// CheckToken answers equal the creator's, restricted members' answers
// follow client_ip (conditional without it), the two-factor gate follows
// mfa, and the gate is off again at the end.
func TestConditionsWorkloadsVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	ctx := context.Background()
	env, rep := runWorkloads(t, Config{Accounts: 60, Seed: 4, DatastoreEngine: "memory", Duration: 100 * time.Millisecond, Verify: 50, Only: OnlyConditions})
	if rep.Mismatches != 0 {
		t.Fatalf("%d mismatches: %v", rep.Mismatches, rep.MismatchSamples)
	}
	rows := map[string]bool{}
	for _, w := range rep.Workloads {
		if w.Errors > 0 {
			t.Errorf("%s c=%d: %d errors: %s", w.Workload, w.Concurrency, w.Errors, w.Note)
		}
		if w.Count == 0 {
			t.Errorf("%s c=%d: nothing measured", w.Workload, w.Concurrency)
		}
		name, _, _ := strings.Cut(w.Workload, ",")
		rows[name] = true
	}
	for _, want := range []string{"conditions: plain", "conditions: token (token:ID)", "conditions: CheckToken (secret)",
		"conditions: caveated", "conditions: mfa-gated", "conditions setup: CreateToken (given what the creator holds)"} {
		found := false
		for name := range rows {
			found = found || strings.HasPrefix(name, want)
		}
		if !found {
			t.Errorf("no %q row in %v", want, rows)
		}
	}
	if rep.Verified < 500 {
		t.Fatalf("only %d answers verified", rep.Verified)
	}

	// The gate is off again: a holder of manage_users needs no mfa.
	for _, a := range env.Provider.Accounts {
		ans, err := env.Service.Can(ctx, hostaccess.Check{Resource: "account:" + a.ID, Permission: "manage_users", Subject: "user:" + a.Owners[0]}, hostaccess.CheckOptions{})
		if err != nil || !ans.Allowed {
			t.Fatalf("after the set, owner of %s: %+v, %v", a.ID, ans, err)
		}
		break
	}

	// A wrong expectation is caught: a conditional answer is not a denial.
	q := condQuestion{Check: hostaccess.Check{Resource: "account:x", Permission: "pay_invoices", Subject: "user:y"}, want: denied}
	env.judge(q, hostaccess.Answer{Conditional: true})
	q.secret, q.Subject, q.want = "hat_x", "token:a/1", allowed
	env.judge(q, hostaccess.Answer{Check: hostaccess.Check{Subject: "token:a/2"}, Allowed: true})
	if rep, err := env.finish(); !errors.Is(err, ErrMismatch) || rep.Mismatches != 2 {
		t.Fatalf("wrong outcomes must fail the run: %d mismatches, err %v", rep.Mismatches, err)
	}
}

// runWorkloads sets up cfg's provider, runs its workloads and returns the
// environment (closed when the test ends) and the report; any error, or an
// answer differing from the generated data, fails the test.
func runWorkloads(t *testing.T, cfg Config) (*Env, *Report) {
	t.Helper()
	ctx := context.Background()
	env, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	if err := env.workloads(ctx); err != nil {
		t.Fatalf("workloads: %v", err)
	}
	rep, err := env.finish()
	if err != nil {
		t.Fatalf("finish: %v (%v)", err, rep.MismatchSamples)
	}
	return env, rep
}
