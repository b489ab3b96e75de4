// Package netfault makes the network faults tests need on loopback: a port nothing
// listens on, and a listener that accepts and never answers. Used by tests only.
package netfault

import "net"

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
