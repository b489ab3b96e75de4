package checks

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelBoundsAndCompletes(t *testing.T) {
	for _, tt := range []struct{ n, limit int }{{0, 4}, {1, 4}, {10, 3}, {5, 0}, {20, 20}} {
		var running, peak, calls atomic.Int32
		done := make([]bool, tt.n)
		parallel(tt.n, tt.limit, func(i int) {
			now := running.Add(1)
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			done[i] = true
			calls.Add(1)
			running.Add(-1)
		})
		want := tt.limit
		if want < 1 {
			want = 1
		}
		if int(calls.Load()) != tt.n || int(peak.Load()) > want {
			t.Errorf("n=%d limit=%d: %d calls, peak %d", tt.n, tt.limit, calls.Load(), peak.Load())
		}
		for i, d := range done {
			if !d {
				t.Errorf("n=%d: %d not called", tt.n, i)
			}
		}
	}
}
