//go:build integration

package platformdb

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paasdiag/paasdiag/internal/bkcrypt"
	"github.com/paasdiag/paasdiag/internal/testsupport/mariadb"
)

// ReadAppImageRegistries reads the clusters' own registries (1.7+) by cluster name, the
// password as stored; on 1.6, which has no such table, it says so with
// ErrNoAppImageRegistryTable, also through DB.ReadOnly.
func TestReadAppImageRegistries(t *testing.T) {
	startServer(t)
	const key = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=" // 32 bytes, url-safe base64
	encrypt := mariadb.FernetEncrypter(key)
	for _, line := range mariadb.Lines {
		t.Run(string(line), func(t *testing.T) {
			w := must(mariadb.NewWorkloads(server, "reg_"+strings.NewReplacer("-", "_", ".", "_").Replace(string(line)), line))
			withRegistry := must(w.Cluster("k8s-tenant", []string{"https://10.0.0.1:6443"}, mariadb.StoredCredentials{Token: "t"}))
			must(w.Cluster("k8s-default", []string{"https://10.0.0.2:6443"}, mariadb.StoredCredentials{Token: "t"})) // the settings' registry
			var regs []AppImageRegistry
			var err error
			read := func() {
				pools := NewPools()
				defer pools.Forget(diag)
				db := must(pools.Open(diag, "workloads", server.DSN("admin", "admin", w.Database), 5*time.Second))
				err = db.ReadOnly(context.Background(), func(tx *sql.Tx) (err error) {
					regs, err = ReadAppImageRegistries(context.Background(), tx)
					return err
				})
			}
			if line.Legacy() {
				read()
				if !errors.Is(err, ErrNoAppImageRegistryTable) || regs != nil {
					t.Fatalf("1.6: %+v, %v; want ErrNoAppImageRegistryTable", regs, err)
				}
				return
			}
			stored := encrypt("s3cret")
			if err := server.Exec(w.Database, `INSERT INTO cluster_clusterappimageregistry (uuid, host, skip_tls_verify, namespace, username, password, tenant_id, cluster_id)
				VALUES (?, 'registry.tenant.example:5000', 1, 'tenant/apps', 'pusher', ?, 'tenant-a', ?),
				       (?, 'gone.example', 0, 'x', 'y', 'z', 'default', ?)`,
				mariadb.NewID(), stored, withRegistry, mariadb.NewID(), mariadb.NewID()); err != nil { // the second one's cluster is gone
				t.Fatal(err)
			}
			read()
			if err != nil {
				t.Fatal(err)
			}
			want := []AppImageRegistry{{ClusterName: "k8s-tenant", Host: "registry.tenant.example:5000", Namespace: "tenant/apps",
				Username: "pusher", Password: stored, SkipTLSVerify: true, TenantID: "tenant-a"}}
			if !reflect.DeepEqual(regs, want) {
				t.Fatalf("registries\n got %+v\nwant %+v", regs, want)
			}
			// The caller decrypts it like the cluster credentials.
			d := must(bkcrypt.New(key))
			if plain, err := d.Decrypt(regs[0].Password); err != nil || plain != "s3cret" {
				t.Errorf("decrypting the stored password: %q, %v", plain, err)
			}

			// A user the grant does not let see the table gets the same answer as on 1.6.
			if err := server.Exec("", "CREATE USER 'reg_"+strings.ReplaceAll(string(line), "-", "")+"'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT (uuid, name) ON `"+
				w.Database+"`.cluster_cluster TO 'reg_"+strings.ReplaceAll(string(line), "-", "")+"'@'127.0.0.1'"); err != nil {
				t.Fatal(err)
			}
			pools := NewPools()
			defer pools.Forget(diag)
			db := must(pools.Open(diag, "workloads", server.DSN("reg_"+strings.ReplaceAll(string(line), "-", ""), "pw", w.Database), 5*time.Second))
			err = db.ReadOnly(context.Background(), func(tx *sql.Tx) (err error) {
				_, err = ReadAppImageRegistries(context.Background(), tx)
				return err
			})
			if !errors.Is(err, ErrNoAppImageRegistryTable) {
				t.Errorf("without a grant on the table: %v", err)
			}
		})
	}
}
