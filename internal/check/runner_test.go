package check

import (
	"context"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// fakeChecker is a test check whose behaviour is a function.
type fakeChecker struct {
	name string
	run  func(ctx context.Context) Result
}

func (f fakeChecker) Name() string                     { return f.name }
func (f fakeChecker) Condition() string                { return "Test" + f.name }
func (f fakeChecker) Check(ctx context.Context) Result { return f.run(ctx) }

func pass(context.Context) Result { return Result{Status: Pass, Reason: v1alpha1.ReasonSucceeded} }

func TestRunnerAbandonsAHungCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hung := fakeChecker{name: "hung", run: func(context.Context) Result {
		<-release // ignores its context entirely
		return Result{Status: Pass}
	}}
	fast := fakeChecker{name: "fast", run: pass}

	// One slot: the fast check can only run once the hung one gives its slot up.
	outcomes := Runner{Concurrency: 1}.Run(context.Background(), []Checker{hung, fast}, 200*time.Millisecond)

	// Run returned while the hung check is still blocked: it was abandoned at its deadline.
	if got := outcomes[0].Result; got.Status != Unknown || got.Reason != v1alpha1.ReasonTimeout {
		t.Errorf("hung check: got %s/%s, want Unknown/Timeout", got.Status, got.Reason)
	}
	if got := outcomes[1].Result; got.Status != Pass {
		t.Errorf("fast check behind the hung one: got %s/%s (%s), want Pass", got.Status, got.Reason, got.Message)
	}
	if outcomes[0].Checker.Name() != "hung" || outcomes[1].Checker.Name() != "fast" {
		t.Error("outcomes are not in the checkers' order")
	}
}

func TestRunnerRunsChecksConcurrently(t *testing.T) {
	// Each check waits until all three have started: this only completes if they run at
	// the same time.
	started := make(chan struct{}, 3)
	barrier := func(ctx context.Context) Result {
		started <- struct{}{}
		for len(started) < 3 {
			select {
			case <-ctx.Done():
				return Result{Status: Unknown, Reason: "NotConcurrent"}
			case <-time.After(time.Millisecond):
			}
		}
		return Result{Status: Pass}
	}
	checks := []Checker{fakeChecker{"a", barrier}, fakeChecker{"b", barrier}, fakeChecker{"c", barrier}}
	for _, o := range (Runner{}).Run(context.Background(), checks, 5*time.Second) {
		if o.Result.Status != Pass {
			t.Errorf("%s: %s/%s", o.Checker.Name(), o.Result.Status, o.Result.Reason)
		}
	}
}

func TestRunnerNeverPassesAfterTheDeadline(t *testing.T) {
	// A check that notices its deadline but still says Pass must not be read as healthy.
	late := fakeChecker{name: "late", run: func(ctx context.Context) Result {
		<-ctx.Done()
		return Result{Status: Pass}
	}}
	o := Runner{}.Run(context.Background(), []Checker{late}, 50*time.Millisecond)[0]
	if o.Result.Status != Unknown || o.Result.Reason != v1alpha1.ReasonTimeout {
		t.Errorf("got %s/%s, want Unknown/Timeout", o.Result.Status, o.Result.Reason)
	}
}

func TestRunnerRecoversFromAPanic(t *testing.T) {
	boom := fakeChecker{name: "boom", run: func(context.Context) Result { panic("boom") }}
	ok := fakeChecker{name: "ok", run: pass}
	outcomes := Runner{}.Run(context.Background(), []Checker{boom, ok}, time.Second)
	if r := outcomes[0].Result; r.Status != Unknown || r.Reason != v1alpha1.ReasonCheckPanicked {
		t.Errorf("panicking check: got %s/%s", r.Status, r.Reason)
	}
	if r := outcomes[1].Result; r.Status != Pass {
		t.Errorf("other check: got %s/%s", r.Status, r.Reason)
	}
}

func TestRunnerFailureIsKept(t *testing.T) {
	fail := fakeChecker{name: "fail", run: func(context.Context) Result {
		return Result{Status: Fail, Reason: "PoolEmpty", Findings: []Finding{{Check: "pool/redis/0shared", Code: "4313022"}}}
	}}
	o := Runner{}.Run(context.Background(), []Checker{fail}, time.Second)[0]
	if o.Result.Status != Fail || o.Result.Reason != "PoolEmpty" || len(o.Result.Findings) != 1 {
		t.Errorf("got %+v", o.Result)
	}
}
