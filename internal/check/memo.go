package check

import "sync"

// Memo shares work between the checks of one evaluation: what several checks need
// (the app clusters, resolved and probed) is computed once, by the first check that
// asks, and the others wait for it. The reconciler makes a new Memo per evaluation,
// so nothing is shared between evaluations. A nil Memo shares nothing.
type Memo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	once  sync.Once
	value any
}

// Do returns the value for key, computing it with fn the first time. fn runs under
// the context of the first caller; the checks of one evaluation share one deadline.
func (m *Memo) Do(key string, fn func() any) any {
	if m == nil {
		return fn()
	}
	m.mu.Lock()
	if m.entries == nil {
		m.entries = map[string]*memoEntry{}
	}
	e := m.entries[key]
	if e == nil {
		e = &memoEntry{}
		m.entries[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.value = fn() })
	return e.value
}
