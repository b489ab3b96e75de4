// Package platformdb gives read-only access to the platform's own MySQL databases
// (bk_paas_ng, bk_engine_ng). It keeps one small connection pool per diagnosis and
// database, reused across evaluations, replaced when the DSN changes and closed when
// the diagnosis goes away. It classifies failures into reasons an operator can act on,
// and never lets a DSN or password reach an error message.
package platformdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/apimachinery/pkg/types"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// ioTimeoutMargin is how much longer the driver's I/O timeouts are than the context's
// deadline; less than the check runner's shortest grace period.
const ioTimeoutMargin = 25 * time.Millisecond

// Error is a database failure with its reason and a message fit for status: it names
// the server and database but never the DSN or a password.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Pools keeps the connection pools of every diagnosis. The zero value is not usable;
// use NewPools.
type Pools struct {
	mu    sync.Mutex
	pools map[poolKey]*pool
}

type poolKey struct {
	diagnosis types.NamespacedName
	database  string // which of the diagnosis' databases: "default", "workloads"
}

type pool struct {
	dsnHash [sha256.Size]byte
	timeout time.Duration
	db      *sql.DB
	target  string // user@host:port/dbname, for messages
}

// NewPools returns an empty set of pools.
func NewPools() *Pools {
	return &Pools{pools: map[poolKey]*pool{}}
}

// DB is a read-only handle on one database of one diagnosis.
type DB struct {
	db     *sql.DB
	target string
}

// Open returns the pool of the diagnosis' database, opening it on first use and
// reopening it when the DSN or the timeout changed. timeout bounds connecting and every
// read and write on the wire; queries are bounded by their context as well.
func (p *Pools) Open(diagnosis types.NamespacedName, database, dsn string, timeout time.Duration) (*DB, error) {
	hash := sha256.Sum256([]byte(dsn))
	key := poolKey{diagnosis, database}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.pools[key]; ok {
		if cur.dsnHash == hash && cur.timeout == timeout {
			return &DB{db: cur.db, target: cur.target}, nil
		}
		_ = cur.db.Close()
		delete(p.pools, key)
	}
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	// The I/O timeouts back the query's context up: a little longer, so that a server
	// that stops answering is reported by the context's deadline (Timeout) rather than
	// as a broken connection.
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = timeout, timeout+ioTimeoutMargin, timeout+ioTimeoutMargin
	cfg.ParseTime = true
	// The driver logs connection trouble to stderr on its own; paasdiag reports it in
	// status instead.
	cfg.Logger = quietLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, &Error{Reason: v1alpha1.ReasonInvalidDSN, Message: "the DSN is not usable: " + scrub(err.Error(), dsn, cfg.Passwd)}
	}
	db := sql.OpenDB(readOnlySessions{connector})
	// A diagnosis runs a handful of queries per interval: keep one connection warm and
	// never more than two.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(10 * time.Minute)
	pl := &pool{dsnHash: hash, timeout: timeout, db: db, target: target(cfg)}
	p.pools[key] = pl
	return &DB{db: db, target: pl.target}, nil
}

// readOnlySessions makes every new connection read-only at the session level before
// the pool hands it out, and checks that the server agreed: the DSN may be the
// platform's own, writable, user (settingsFrom), and every transaction paasdiag opens
// is read-only too (ReadOnly). A write is then refused by the server, in a transaction
// or not (ERROR 1792).
type readOnlySessions struct{ driver.Connector }

// Connect implements driver.Connector.
func (c readOnlySessions) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := makeReadOnly(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

func makeReadOnly(ctx context.Context, conn driver.Conn) error {
	execer, eok := conn.(driver.ExecerContext)
	queryer, qok := conn.(driver.QueryerContext)
	if !eok || !qok {
		return errors.New("the MySQL driver's connection cannot run statements")
	}
	if _, err := execer.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY", nil); err != nil {
		return fmt.Errorf("making the session read-only: %w", err)
	}
	// transaction_read_only on MySQL 5.7.20+ and MariaDB 11.1+, tx_read_only before.
	var ro string
	var err error
	for _, variable := range []string{"@@SESSION.transaction_read_only", "@@SESSION.tx_read_only"} {
		if ro, err = queryOne(ctx, queryer, "SELECT "+variable); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("checking that the session is read-only: %w", err)
	}
	if ro != "1" {
		return fmt.Errorf("the server did not make the session read-only (transaction_read_only = %s)", ro)
	}
	return nil
}

// queryOne returns the first column of the first row of query, as text.
func queryOne(ctx context.Context, queryer driver.QueryerContext, query string) (string, error) {
	rows, err := queryer.QueryContext(ctx, query, nil)
	if err != nil {
		return "", err
	}
	defer func() { _ = rows.Close() }()
	values := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(values); err != nil || len(values) == 0 {
		return "", fmt.Errorf("no row from %s: %v", query, err)
	}
	if b, ok := values[0].([]byte); ok {
		return string(b), nil
	}
	return fmt.Sprint(values[0]), nil
}

// Forget closes every pool of the diagnosis.
func (p *Pools) Forget(diagnosis types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pl := range p.pools {
		if k.diagnosis == diagnosis {
			_ = pl.db.Close()
			delete(p.pools, k)
		}
	}
}

// Len is the number of open pools, for tests and metrics.
func (p *Pools) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pools)
}

// Target names the database for messages: user@host:port/dbname.
func (d *DB) Target() string { return d.target }

// ReadOnly runs fn in a read-only transaction: the server itself refuses any write.
func (d *DB) ReadOnly(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d.classify(ctx, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return d.classify(ctx, err)
	}
	return nil
}

// classify turns a driver or network error into a reason and a message.
func (d *DB) classify(ctx context.Context, err error) *Error {
	var myErr *mysql.MySQLError
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()):
		return &Error{v1alpha1.ReasonTimeout, fmt.Sprintf("database %s did not answer in time", d.target)}
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1044, 1045, 1142, 1143, 1227:
			// ER_DBACCESS_DENIED, ER_ACCESS_DENIED, ER_TABLEACCESS_DENIED,
			// ER_COLUMNACCESS_DENIED, ER_SPECIFIC_ACCESS_DENIED
			return &Error{v1alpha1.ReasonAccessDenied, fmt.Sprintf("database %s denied access: %s", d.target, myErr.Message)}
		case 1049: // ER_BAD_DB_ERROR
			return &Error{v1alpha1.ReasonDatabaseNotFound, fmt.Sprintf("database %s: %s", d.target, myErr.Message)}
		}
		return &Error{v1alpha1.ReasonDatabaseError, fmt.Sprintf("database %s: error %d: %s", d.target, myErr.Number, myErr.Message)}
	case errors.As(err, &dnsErr):
		return &Error{v1alpha1.ReasonDatabaseUnreachable, fmt.Sprintf("database %s: cannot resolve host %s", d.target, dnsErr.Name)}
	}
	return &Error{v1alpha1.ReasonDatabaseUnreachable, fmt.Sprintf("database %s is unreachable: %s", d.target, err.Error())}
}

// ConfigFromURL is the driver configuration of a mysql:// URL, without its query:
// user and password, TCP to the host (port 3306 when none is given), the database
// named by the path.
func ConfigFromURL(u *url.URL) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg
}

// ParseDSN parses a DSN in go-sql-driver form (user:password@tcp(host:3306)/bk_paas_ng)
// or URL form (mysql://user:password@host:3306/bk_paas_ng). The error never contains
// the DSN or the password.
func ParseDSN(dsn string) (*mysql.Config, error) {
	dsn = strings.TrimSpace(dsn)
	invalid := func(detail string) error {
		return &Error{Reason: v1alpha1.ReasonInvalidDSN, Message: "the DSN is not valid (" + detail +
			"); expected user:password@tcp(host:3306)/bk_paas_ng or mysql://user:password@host:3306/bk_paas_ng"}
	}
	if dsn == "" {
		return nil, invalid("it is empty")
	}
	if strings.HasPrefix(dsn, "mysql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, invalid("not a URL")
		}
		dsn = ConfigFromURL(u).FormatDSN()
		if u.RawQuery != "" {
			dsn += "?" + u.RawQuery
		}
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		msg := err.Error()
		// The driver's fixed messages are safe to show; others may quote the DSN.
		if !strings.HasPrefix(msg, "invalid DSN: ") || strings.ContainsAny(msg, `"'`) {
			msg = "the driver could not parse it"
		}
		return nil, invalid(strings.TrimPrefix(msg, "invalid DSN: "))
	}
	if cfg.DBName == "" {
		return nil, invalid("it names no database")
	}
	return cfg, nil
}

// target names a database without its password.
func target(cfg *mysql.Config) string {
	return fmt.Sprintf("%s@%s/%s", cfg.User, cfg.Addr, cfg.DBName)
}

// scrub removes secrets from a message, as a last line of defence.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}

// quietLogger discards the driver's own log lines.
type quietLogger struct{}

func (quietLogger) Print(...any) {}
