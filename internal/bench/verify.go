package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// verifier records answers compared with expected ones.
type verifier struct {
	mu         sync.Mutex
	checked    int
	mismatches []string
}

func (v *verifier) record(q Question, got bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	if got != q.Expected {
		v.mismatches = append(v.mismatches, fmt.Sprintf("%s: got %t", q, got))
	}
}

func (v *verifier) ok() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
}

func (v *verifier) fail(what string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	v.mismatches = append(v.mismatches, what)
}

// Mismatch is one answer that differs from the generated data's.
type Mismatch struct {
	Question Question
	Got      bool
}

// Verify asks qs through the service (CanAll, 100 at a time) and returns
// the answers that differ from the expected ones.
func (e *Env) Verify(ctx context.Context, qs []Question) ([]Mismatch, error) {
	var out []Mismatch
	for start := 0; start < len(qs); start += 100 {
		batch := qs[start:min(start+100, len(qs))]
		checks := make([]hostaccess.Check, len(batch))
		for i, q := range batch {
			checks[i] = q.Check
		}
		answers, err := e.Service.CanAll(ctx, checks, hostaccess.CheckOptions{})
		if err != nil {
			return out, err
		}
		for i, a := range answers {
			if a.Error != "" {
				return out, fmt.Errorf("%s: %s", batch[i], a.Error)
			}
			if a.Allowed != batch[i].Expected {
				out = append(out, Mismatch{Question: batch[i], Got: a.Allowed})
			}
		}
	}
	return out, nil
}

func (e *Env) expectCan(ctx context.Context, resource, permission, user string, want bool) {
	q := Question{Check: hostaccess.Check{Resource: resource, Permission: permission, Subject: "user:" + user}, Expected: want}
	a, err := e.Service.Can(ctx, q.Check, hostaccess.CheckOptions{})
	if err != nil {
		e.v.fail(fmt.Sprintf("%s: %v", q, err))
		return
	}
	e.v.record(q, a.Allowed)
}
