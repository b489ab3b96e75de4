#!/usr/bin/env bash
# Regenerate hack/sql/<line>/columns.tsv and hack/sql/<line>/migrations.tsv from the
# platform's Django migrations at the pinned revision of each release line.
#
#   hack/schema/extract.sh [MIRROR_GIT_DIR]
#
# MIRROR_GIT_DIR is a (bare) git clone of TencentBlueKing/blueking-paas that holds the
# pinned commits. Needs git and python3 (stdlib only); nothing of the platform is run.
set -euo pipefail

mirror=${1:-/work/.mirror/TencentBlueKing+blueking-paas/repo}
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../sql" && pwd)

# release line -> commit
lines=(
	"release-1.6 fa3da89a90b3fa15dd2abc6137dd1a8f12cd1c12"
	"release-1.7 570665ff0620874084d25db6afeb41bf32642311"
	"main 3aa862b9721e6f2e68a06388122cb0f5081da5e3"
)

# Django apps (package directories under the repository root) and the tables paasdiag reads.
apps=(
	apiserver/paasng/paasng/accessories/services      # label services,     database bk_paas_ng
	apiserver/paasng/paasng/accessories/servicehub    # label servicehub,   database bk_paas_ng
	apiserver/paasng/paasng/platform/applications     # label applications, database bk_paas_ng
	apiserver/paasng/paasng/platform/modules          # label modules,      database bk_paas_ng
	apiserver/paasng/paasng/platform/sourcectl        # label sourcectl,    database bk_paas_ng
	# label engine, database bk_paas_ng: no table of it is read, but engine.EngineApp is the
	# target of applicationenvironment.engine_app and the two attachments' engine_app,
	# whose column class is that of its primary key.
	apiserver/paasng/paasng/platform/engine
	apiserver/paasng/paas_wl/infras/cluster           # label cluster,      database bk_engine_ng
	apiserver/paasng/paas_wl/workloads/networking/egress # label region,    database bk_engine_ng
	apiserver/paasng/paas_wl/bk_app/applications      # label api,          database bk_engine_ng
)
tables=(
	services_service services_plan services_precreatedinstance services_servicecategory
	servicehub_serviceengineappattachment applications_applicationenvironment
	applications_application modules_module
	servicehub_remoteserviceengineappattachment sourcectl_sourcepackage
	cluster_cluster cluster_apiserver region_regionclusterstate api_app api_config
)
# Tables that only some lines have: the tenant's cluster allocation policy (1.7+), which
# picks the cluster of an app whose config names none, and a cluster's own app image
# registry (1.7+).
declare -A line_tables=(
	[release-1.7]="cluster_clusterallocationpolicy cluster_clusterappimageregistry"
	[main]="cluster_clusterallocationpolicy cluster_clusterappimageregistry"
)

app_args=()
for a in "${apps[@]}"; do app_args+=(--app "$a"); done
table_args=()
for t in "${tables[@]}"; do table_args+=(--table "$t"); done

for entry in "${lines[@]}"; do
	read -r line sha <<<"$entry"
	git -C "$mirror" cat-file -e "$sha^{commit}" || { echo "extract: $sha not in $mirror" >&2; exit 1; }
	mkdir -p "$out/$line"
	header="# extracted from TencentBlueKing/blueking-paas@$sha by hack/schema/extract_columns.py"
	extra=()
	for t in ${line_tables[$line]:-}; do extra+=(--table "$t"); done
	cols=$(python3 "$here/extract_columns.py" --git-dir "$mirror" --rev "$sha" "${app_args[@]}" columns "${table_args[@]}" "${extra[@]}")
	migs=$(python3 "$here/extract_columns.py" --git-dir "$mirror" --rev "$sha" "${app_args[@]}" migrations)
	{ echo "$header"; echo "# table	column	class	nullable"; echo "$cols"; } >"$out/$line/columns.tsv"
	{ echo "$header"; echo "# app	name (in the order manage.py migrate applies them)"; echo "$migs"; } >"$out/$line/migrations.tsv"
	echo "extract: $line ($sha): $(echo "$cols" | wc -l) columns, $(echo "$migs" | wc -l) migrations"
done
