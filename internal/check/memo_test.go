package check

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestMemoComputesOncePerKey(t *testing.T) {
	var m Memo
	var calls atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v := m.Do("clusters", func() any { calls.Add(1); return 42 }); v != 42 {
				t.Errorf("value %v", v)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("computed %d times", calls.Load())
	}
	if v := m.Do("other", func() any { return "x" }); v != "x" {
		t.Errorf("another key: %v", v)
	}
	var nilMemo *Memo
	n := 0
	nilMemo.Do("k", func() any { n++; return nil })
	nilMemo.Do("k", func() any { n++; return nil })
	if n != 2 {
		t.Errorf("a nil Memo shares: %d", n)
	}
}
