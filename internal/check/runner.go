package check

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// Runner runs checks concurrently, each under its own deadline.
type Runner struct {
	// Concurrency bounds how many checks of one evaluation run at once; 0 means all.
	Concurrency int
}

// Run runs every checker and returns their outcomes in the checkers'
// order. Each check gets a context that ends after timeout, and a short grace after it
// to report what its probes saw (a cluster check whose one API server hung still has
// the others' results). A check that ignores its context is abandoned when the grace
// is over and reported Unknown with reason Timeout, so it never delays the others or
// the evaluation for long. A check that panics is reported Unknown with reason
// CheckPanicked.
func (r Runner) Run(ctx context.Context, checkers []Checker, timeout time.Duration) []Outcome {
	outcomes := make([]Outcome, len(checkers))
	limit := r.Concurrency
	if limit <= 0 || limit > len(checkers) {
		limit = len(checkers)
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, c := range checkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				outcomes[i] = Outcome{Checker: c, Result: timedOut(timeout)}
				return
			}
			// The slot is released when this check's deadline passes, even if the check
			// itself is still running: a hung check must not hold up the ones queued.
			defer func() { <-slots }()
			outcomes[i] = runOne(ctx, c, timeout)
		}()
	}
	wg.Wait()
	return outcomes
}

func runOne(parent context.Context, c Checker, timeout time.Duration) Outcome {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Result{
					Status:  Unknown,
					Reason:  v1alpha1.ReasonCheckPanicked,
					Message: fmt.Sprintf("check %s crashed; this is a paasdiag bug, please report it", c.Name()),
				}
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case res := <-done:
		// A check that returns because its context expired reports what it saw; make
		// sure it is never read as a pass.
		if ctx.Err() != nil && res.Status == Pass {
			res = timedOut(timeout)
		}
		return Outcome{Checker: c, Result: res, Duration: time.Since(start)}
	case <-abandon(ctx, timeout):
		return Outcome{Checker: c, Result: timedOut(timeout), Duration: time.Since(start)}
	}
}

// abandon fires a grace period after ctx ends: a tenth of the timeout, at least 50ms
// and at most a second.
func abandon(ctx context.Context, timeout time.Duration) <-chan time.Time {
	grace := min(max(timeout/10, 50*time.Millisecond), time.Second)
	fire := make(chan time.Time, 1)
	go func() {
		<-ctx.Done()
		time.Sleep(grace)
		fire <- time.Now()
	}()
	return fire
}

func timedOut(timeout time.Duration) Result {
	return Result{
		Status:  Unknown,
		Reason:  v1alpha1.ReasonTimeout,
		Message: fmt.Sprintf("the check did not finish within the timeout (%s)", timeout),
	}
}
