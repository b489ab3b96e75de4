// Package netfault makes the network faults tests need on loopback: a port nothing
// listens on, and a listener that accepts and never answers. Used by tests only.
package netfault

import (
	"io"
	"net"
	"sync"
)

// ClosedAddr returns a host:port on 127.0.0.1 on which nothing listens.
func ClosedAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// SilentListener accepts connections and never says a word, like a server whose
// process hangs. It returns the host:port and a function that closes it and every
// connection it accepted.
func SilentListener() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	conns := make(chan net.Conn, 1000)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	return l.Addr().String(), func() {
		_ = l.Close()
		for c := range conns {
			_ = c.Close()
		}
	}, nil
}

// Proxy forwards TCP connections from a port on 127.0.0.1 to a target. Stopping it
// closes every connection and refuses new ones on that port, as a server that went
// down; starting it again listens on the same port, as the server back up.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]bool
}

// NewProxy starts a proxy to target.
func NewProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(l)
	return p, nil
}

// Stop closes the listener and every connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		_ = p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Start listens again on the same port.
func (p *Proxy) Start() error {
	l, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return err
	}
	p.serve(l)
	return nil
}

func (p *Proxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
}
