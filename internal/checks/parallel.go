package checks

import "sync"

// maxParallel bounds how many probes, queries or log reads one check runs at once:
// enough that one slow target does not delay the rest, few enough that a diagnosis of
// many clusters does not open hundreds of connections at a time.
const maxParallel = 8

// parallel calls fn(i) for every i in [0, n), at most limit at a time, and returns when
// all have returned. Each fn writes only its own slot of a result slice, so the
// results keep their order whatever the timing. Every fn must honour its context: the
// check's deadline is what bounds them.
func parallel(n, limit int, fn func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}
