// Package managerproc runs the manager binary (bin/manager) as a process of its own, as
// the measuring commands under hack/ do: against a control plane's kubeconfig, its log
// to a file, metrics on a free local address over plain HTTP (--metrics-secure=false:
// the commands scrape it as anyone on this machine), V(1) logs with nanosecond times.
package managerproc

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/paasdiag/paasdiag/internal/testsupport/netfault"
)

// Process is a running manager.
type Process struct {
	Cmd *exec.Cmd
	// MetricsAddr is where it serves its metrics (host:port), over plain HTTP.
	MetricsAddr string
	log         *os.File
}

// Start runs binary with the kubeconfig, logging to logPath. wrapper runs it through
// another command (e.g. taskset -c 1), extra adds flags. Stop it with Stop.
func Start(binary, kubeconfig, logPath string, wrapper []string, extra ...string) (*Process, error) {
	addr, err := netfault.ClosedAddr()
	if err != nil {
		return nil, err
	}
	// At V(1) the manager logs each evaluation with its lateness and duration.
	args := append([]string{"--metrics-bind-address=" + addr, "--metrics-secure=false", "--health-probe-bind-address=0", "--leader-elect=false",
		"--zap-log-level=1", "--zap-time-encoding=rfc3339nano"}, extra...)
	cmd := exec.Command(binary, args...)
	if len(wrapper) > 0 {
		cmd = exec.Command(wrapper[0], append(append(wrapper[1:], binary), args...)...)
	}
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s (run make build first): %w", binary, err)
	}
	return &Process{Cmd: cmd, MetricsAddr: addr, log: log}, nil
}

// Stop kills the manager and closes its log.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Kill()
	_, _ = p.Cmd.Process.Wait()
	_ = p.log.Close()
}
