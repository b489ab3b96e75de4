// Package logging holds the manager's logger policy.
package logging

import "github.com/go-logr/logr"

// MaxVerbosity is the most verbose level paasdiag ever logs at. client-go logs request
// and response bodies from V(8) on, and the bodies of the Secrets paasdiag reads hold
// the platform's credentials: whatever --zap-log-level asks for, nothing above V(5) is
// written (the Cluster API convention: V(4) and V(5) say how, never more).
const MaxVerbosity = 5

// CapVerbosity returns a logger that drops every line more verbose than max.
func CapVerbosity(l logr.Logger, max int) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return logr.New(&capped{LogSink: l.GetSink(), max: max})
}

type capped struct {
	logr.LogSink
	max int
}

func (c *capped) Enabled(level int) bool { return level <= c.max && c.LogSink.Enabled(level) }

func (c *capped) Info(level int, msg string, kv ...any) {
	if level <= c.max {
		c.LogSink.Info(level, msg, kv...)
	}
}

func (c *capped) WithValues(kv ...any) logr.LogSink {
	return &capped{LogSink: c.LogSink.WithValues(kv...), max: c.max}
}

func (c *capped) WithName(name string) logr.LogSink {
	return &capped{LogSink: c.LogSink.WithName(name), max: c.max}
}
