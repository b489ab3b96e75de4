// Package mariadb runs a throw-away MariaDB server for tests, through hack/mariadb.sh,
// and loads the platform's table layouts from hack/sql. It is used by tests only.
package mariadb

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	// The driver the tests use to set the databases up.
	_ "github.com/go-sql-driver/mysql"
)

// Server is a MariaDB server listening on 127.0.0.1.
type Server struct {
	// Dir holds the data directory, socket and logs.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
}

// RepoRoot is the root of the paasdiag checkout.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Start initialises a data directory under dir and starts a server on a free port.
// It fails, with what to do, when MariaDB is not installed.
func Start(dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Port: port}
	return s, s.Start()
}

// Start starts the server again (after Stop), on the same port with the same data.
func (s *Server) Start() error {
	return script("start", s.Dir, fmt.Sprint(s.Port))
}

// Stop stops the server; its data stays.
func (s *Server) Stop() error {
	return script("stop", s.Dir)
}

// DSN is a go-sql-driver DSN for user on database.
func (s *Server) DSN(user, password, database string) string {
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/%s", user, password, s.Port, database)
}

// Admin opens an administrative connection to database ("" for none) that accepts
// several statements at once.
func (s *Server) Admin(database string) (*sql.DB, error) {
	return sql.Open("mysql", s.DSN("admin", "admin", database)+"?multiStatements=true&parseTime=true")
}

// CreateDatabase creates (or recreates) database and loads a DDL file of hack/sql
// into it, e.g. "bk_paas_ng.sql".
func (s *Server) CreateDatabase(database, ddl string) error {
	schema, err := os.ReadFile(filepath.Join(RepoRoot(), "hack", "sql", ddl))
	if err != nil {
		return err
	}
	admin, err := s.Admin("")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` DEFAULT CHARSET utf8mb4", database, database)); err != nil {
		return err
	}
	db, err := s.Admin(database)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.Exec(string(schema))
	return err
}

// Exec runs statements as the administrator on database.
func (s *Server) Exec(database, statements string, args ...any) error {
	db, err := s.Admin(database)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.Exec(statements, args...)
	return err
}

func script(args ...string) error {
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "mariadb.sh"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/mariadb.sh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Lazy is a server started by the first test of a package that needs one (fuzz workers
// and pure tests need none) and stopped by Close in TestMain.
type Lazy struct {
	once   sync.Once
	dir    string
	server *Server
	err    error
}

// Get starts the server on first use; a server that cannot start fails the test with
// what to do.
func (l *Lazy) Get(t testing.TB) *Server {
	t.Helper()
	l.once.Do(func() {
		l.dir, l.err = os.MkdirTemp("", "paasdiag-mariadb-")
		if l.err == nil {
			l.server, l.err = Start(l.dir)
		}
	})
	if l.err != nil {
		t.Fatalf("cannot start MariaDB (install it with hack/mariadb.sh install): %v", l.err)
	}
	return l.server
}

// Close stops the server, if it was started, and removes its data.
func (l *Lazy) Close() {
	if l.server != nil {
		_ = l.server.Stop()
	}
	if l.dir != "" {
		_ = os.RemoveAll(l.dir)
	}
}
