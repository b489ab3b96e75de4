package platformdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/paasdiag/paasdiag/api/v1alpha1"
)

// ReadMigrations reads which migrations Django recorded as applied for the given app
// labels (table django_migrations, which every Django database has). Its two columns
// app and name are all paasdiag reads of it.
func ReadMigrations(ctx context.Context, tx *sql.Tx, apps []string) (map[string][]string, error) {
	marks := make([]string, len(apps))
	args := make([]any, len(apps))
	for i, a := range apps {
		marks[i], args[i] = "?", a
	}
	rows, err := tx.QueryContext(ctx, `SELECT app, name FROM django_migrations WHERE app IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string][]string{}
	for rows.Next() {
		var app, name string
		if err := rows.Scan(&app, &name); err != nil {
			return nil, err
		}
		out[app] = append(out[app], name)
	}
	return out, rows.Err()
}

// ClusterState is the newest node state the platform recorded for a cluster
// (region_regionclusterstate, written by region_gen_state up to 1.6 and by the admin
// console's node sync from 1.7): the nodes it saw, masters left out.
type ClusterState struct {
	Cluster string
	// Name is the state's label, eng-cstate-<digest>-<n>.
	Name string
	// Nodes are the node names recorded, sorted.
	Nodes []string
	// Created is when the state was recorded.
	Created time.Time
}

// ReadClusterStates reads the newest recorded state of every cluster, by cluster
// name. The platform takes the newest by created (RegionClusterState.Meta: ordering
// -created, get_latest_by created); of two written in the same microsecond, the one
// with the higher version suffix wins here.
func ReadClusterStates(ctx context.Context, tx *sql.Tx) (map[string]ClusterState, error) {
	// First the newest state's name per cluster from a scan of the small columns, then
	// those states' node lists through the (cluster_name, name) key: a join on
	// MAX(created) per cluster reads the table once per cluster.
	heads, err := tx.QueryContext(ctx, `SELECT cluster_name, name, created FROM region_regionclusterstate WHERE cluster_name IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = heads.Close() }()
	newest := map[string]ClusterState{}
	for heads.Next() {
		var st ClusterState
		if err := heads.Scan(&st.Cluster, &st.Name, &st.Created); err != nil {
			return nil, err
		}
		cur, ok := newest[st.Cluster]
		switch {
		case !ok, st.Created.After(cur.Created):
		case st.Created.Equal(cur.Created) && stateVersion(st.Name) > stateVersion(cur.Name):
		default:
			continue
		}
		newest[st.Cluster] = st
	}
	if err := heads.Err(); err != nil {
		return nil, err
	}
	out := map[string]ClusterState{}
	if len(newest) == 0 {
		return out, nil
	}
	var where []string
	var args []any
	for _, st := range newest {
		where = append(where, "(cluster_name = ? AND name = ?)")
		args = append(args, st.Cluster, st.Name)
	}
	rows, err := tx.QueryContext(ctx, `SELECT cluster_name, name, nodes_name FROM region_regionclusterstate WHERE `+strings.Join(where, " OR "), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var cluster, name string
		var nodes sql.NullString
		if err := rows.Scan(&cluster, &name, &nodes); err != nil {
			return nil, err
		}
		st, ok := newest[cluster]
		if !ok || st.Name != name {
			continue // the collation matched another spelling: not the state picked
		}
		if nodes.Valid && strings.TrimSpace(nodes.String) != "" {
			if err := json.Unmarshal([]byte(nodes.String), &st.Nodes); err != nil {
				return nil, &Error{Reason: v1alpha1.ReasonSchemaUnrecognized, Message: fmt.Sprintf(
					"region_regionclusterstate %s: nodes_name is not a JSON list of names", st.Name)}
			}
		}
		sort.Strings(st.Nodes)
		out[cluster] = st
	}
	return out, rows.Err()
}

// stateVersion reads n from eng-cstate-<digest>-<n>; 0 when absent.
func stateVersion(name string) int {
	i := strings.LastIndexByte(name, '-')
	n := 0
	if i >= 0 {
		_, _ = fmt.Sscanf(name[i+1:], "%d", &n)
	}
	return n
}
