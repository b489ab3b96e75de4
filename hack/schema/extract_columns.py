#!/usr/bin/env python3
"""Extract table columns (and migration order) from the BlueKing PaaS Django migrations.

The platform's migration files are read out of a git object store (`git show REV:PATH`)
and parsed with the `ast` module; nothing of the platform is imported or executed. The
schema operations are replayed in dependency order to obtain, for each requested table,
its columns as a fresh `manage.py migrate` at that revision would create them on MySQL.

Usage:

  extract_columns.py --git-dir DIR --rev SHA --app PKG_DIR [--app PKG_DIR ...] \
      columns --table T [--table T ...]
  extract_columns.py --git-dir DIR --rev SHA --app PKG_DIR [--app PKG_DIR ...] migrations

PKG_DIR is the Django app's package directory inside the repository, e.g.
apiserver/paasng/paas_wl/infras/cluster; its migrations are PKG_DIR/migrations and its
label comes from PKG_DIR/apps.py (`label = ...`, else the last part of `name`).
Python module paths (for custom fields) are resolved under --src-root (default
apiserver/paasng).

`columns` prints `table<TAB>column<TAB>class<TAB>nullable(YES|NO)`, sorted.
`migrations` prints `app<TAB>name` in the order `manage.py migrate` applies them when
only the given apps exist: for each leaf node, sorted, a depth-first walk of its
dependencies taking the parents in reverse sorted order, as Django's MigrationGraph.
forwards_plan does (its iterative_dfs pushes the sorted parents on a stack). Dependencies on
apps that are not given are ignored.

Operations handled: CreateModel, DeleteModel, RenameModel, AlterModelTable, AddField,
RemoveField, AlterField, RenameField. Operations without an effect on columns are skipped
(AlterUniqueTogether, AlterIndexTogether, AlterModelOptions, AlterModelManagers, AddIndex,
RemoveIndex, RenameIndex, AddConstraint, RemoveConstraint, AlterOrderWithRespectTo,
RunPython). Anything else (RunSQL, SeparateDatabaseAndState, an unknown operation or
field) is an error, so that a new kind of migration cannot be silently misread. For the
services, servicehub, applications, modules, engine, cluster, region and api apps at the
pinned revisions, the operations that occur are CreateModel, AddField, AlterField,
RemoveField, RenameField, DeleteModel, AlterUniqueTogether and RunPython; none uses
db_table, db_column, RunSQL or SeparateDatabaseAndState, and no migration `replaces`
others.

Type classes and what they are on MySQL/MariaDB with Django 4.2 (release-1.6, 1.7) and
5.2 (main):

  uuid      char(32)            models.UUIDField (MySQL has no native uuid type)
  char      varchar(max_length) CharField, SlugField (varchar, indexed), ImageField and
                                FileField (varchar(100) unless max_length),
                                jsonfield.fields.JSONCharField
  text      longtext            TextField and the text-backed JSON/encrypted fields below
  json      json                django.db.models.JSONField (on MariaDB `json` is an alias
                                of longtext with a json_valid() CHECK, so information_schema
                                reports longtext there)
  bool      tinyint(1)          BooleanField, NullBooleanField (always NULL-able)
  smallint  smallint            SmallIntegerField
  usmallint smallint unsigned   PositiveSmallIntegerField
  int       int                 IntegerField, AutoField (AUTO_INCREMENT)
  uint      int unsigned        PositiveIntegerField
  bigint    bigint              BigIntegerField, BigAutoField (AUTO_INCREMENT)
  ubigint   bigint unsigned     PositiveBigIntegerField
  float     double              FloatField
  decimal   decimal(m,d)        DecimalField
  datetime  datetime(6)         DateTimeField
  date      date                DateField
  time      time(6)             TimeField
  duration  bigint              DurationField

ForeignKey / OneToOneField give `<name>_id` (or db_column) with the class of the target's
primary key (uuid for the UUID-keyed models, int for AutoField keys). ManyToManyField
gives no column. A model whose fields declare no primary key gets `id` (int).
A column is NULL-able (YES) iff the field has null=True and is not a primary key;
NullBooleanField is always NULL-able.

Custom and third-party fields (the paths are at the pinned revisions):

  blue_krill.models.fields.EncryptField -> text
      Package blue-krill (pinned in apiserver/pyproject.toml: 2.0.7 on release-1.6, 2.1.5
      on release-1.7 and main; not vendored in the repository), module
      blue_krill/models/fields.py: `class EncryptField(models.TextField)`; the cipher
      text (Fernet `bkcrypt$...` or SM4 `sm4ctr$...`) is stored as longtext. The
      platform's own migrations agree: cluster 0005 declares ca_data a TextField and 0008
      turns it into an EncryptField with no data-type change.
  jsonfield.fields.JSONField -> text, jsonfield.fields.JSONCharField -> char
      Package jsonfield (3.1.0 / 3.2.0), src/jsonfield/fields.py:
      `class JSONField(JSONFieldMixin, models.TextField)` and
      `class JSONCharField(JSONFieldMixin, models.CharField)`: JSON serialised into text.
  paasng.utils.models.ImageField -> char
      apiserver/paasng/paasng/utils/models.py: `class ImageField(models.ImageField)` (only
      drops `storage` from deconstruct()), i.e. Django's ImageField, varchar(100).
  paasng.utils.models.ProcessedImageField -> char
      Same file: `class ProcessedImageField(OrigProcessedImageField)` (only drops
      `storage` from deconstruct()), OrigProcessedImageField being
      imagekit.models.ProcessedImageField. Package django-imagekit (5.0.0 on all three
      lines, apiserver/pyproject.toml; not vendored), imagekit/models/fields/__init__.py:
      `class ProcessedImageField(models.ImageField, SpecHostField)`, i.e. an ImageField,
      varchar(100) (applications_application.logo).
  paas_wl.infras.cluster.models.IngressConfigField -> text on release-1.6, json on
      release-1.7 and main. It is `make_json_field(...)` (apiserver/paasng/paas_wl/infras/
      cluster/models.py). On release-1.6 that make_json_field is imported from
      paas_wl.utils.models and returns a subclass of jsonfield.JSONField
      (`-> Type[JSONField]`, `from jsonfield import JSONField`); from release-1.7 on it is
      imported from paasng.utils.models and returns a subclass of django's
      models.JSONField (`-> Type[models.JSONField]`). Migrations refer to the field by
      dotted path, so a fresh install at 1.7/main creates cluster_cluster.ingress_config
      as json, while an installation upgraded from 1.6 keeps the longtext column created
      by cluster 0002 (Django sees no change to migrate).
  paas_wl.infras.cluster.models.AllocationPolicyField,
  paas_wl.infras.cluster.models.AllocationPrecedencePoliciesField -> json
      make_json_field from paasng.utils.models (models.JSONField), same file.
  paas_wl.bk_app.applications.models.config.RuntimeConfigField,
  paas_wl.bk_app.applications.models.build.BuildArtifactMetadataField -> text
      make_json_field from paas_wl.utils.models (jsonfield.JSONField), in
      apiserver/paasng/paas_wl/bk_app/applications/models/{config,build}.py.

  tenant_id columns: the models use paasng.core.tenant.fields.tenant_id_field_factory
      (apiserver/paasng/paasng/core/tenant/fields.py), which returns a plain
      models.CharField(max_length=32, default "default"); the migrations therefore spell
      them models.CharField and no custom class is involved.

These custom fields are not looked up in a table: the script reads the field's defining
module at the given revision and follows `class X(Base)` to a known base, or
`X = factory(...)` to the factory's return annotation `Type[Base]`, resolving names
through that module's imports. Only the third-party fields (jsonfield, blue_krill,
imagekit) and Django's own fields are fixed in KNOWN_FIELDS below.
"""

import argparse
import ast
import subprocess
import sys
from collections import OrderedDict

DJANGO = "django.db.models."

# Fully qualified field class -> type class. Django's fields are also reachable through
# django.db.models.fields.X etc.; those are normalised to django.db.models.X.
KNOWN_FIELDS = {
    DJANGO + "UUIDField": "uuid",
    DJANGO + "CharField": "char",
    DJANGO + "SlugField": "char",
    DJANGO + "EmailField": "char",
    DJANGO + "URLField": "char",
    DJANGO + "FilePathField": "char",
    DJANGO + "GenericIPAddressField": "char",
    DJANGO + "FileField": "char",
    DJANGO + "ImageField": "char",
    DJANGO + "TextField": "text",
    DJANGO + "JSONField": "json",
    DJANGO + "BooleanField": "bool",
    DJANGO + "NullBooleanField": "bool",
    DJANGO + "SmallIntegerField": "smallint",
    DJANGO + "PositiveSmallIntegerField": "usmallint",
    DJANGO + "SmallAutoField": "smallint",
    DJANGO + "IntegerField": "int",
    DJANGO + "AutoField": "int",
    DJANGO + "PositiveIntegerField": "uint",
    DJANGO + "BigIntegerField": "bigint",
    DJANGO + "BigAutoField": "bigint",
    DJANGO + "PositiveBigIntegerField": "ubigint",
    DJANGO + "FloatField": "float",
    DJANGO + "DecimalField": "decimal",
    DJANGO + "DateTimeField": "datetime",
    DJANGO + "DateField": "date",
    DJANGO + "TimeField": "time",
    DJANGO + "DurationField": "duration",
    DJANGO + "BinaryField": "blob",
    # third-party, see the header
    "jsonfield.fields.JSONField": "text",
    "jsonfield.JSONField": "text",
    "jsonfield.fields.JSONCharField": "char",
    "jsonfield.JSONCharField": "char",
    "blue_krill.models.fields.EncryptField": "text",
    "imagekit.models.ProcessedImageField": "char",
    "imagekit.models.fields.ProcessedImageField": "char",
}
RELATIONS = {DJANGO + "ForeignKey", DJANGO + "OneToOneField"}
M2M = DJANGO + "ManyToManyField"
ALWAYS_NULL = {DJANGO + "NullBooleanField"}

SKIPPED_OPS = {
    "AlterUniqueTogether",
    "AlterIndexTogether",
    "AlterModelOptions",
    "AlterModelManagers",
    "AddIndex",
    "RemoveIndex",
    "RenameIndex",
    "AddConstraint",
    "RemoveConstraint",
    "AlterOrderWithRespectTo",
    "RunPython",
}


class ExtractError(Exception):
    pass


class Repo:
    def __init__(self, git_dir, rev, src_root):
        self.git_dir = git_dir
        self.rev = rev
        self.src_root = src_root.rstrip("/")
        self._cache = {}

    def _git(self, *args):
        res = subprocess.run(["git", "-C", self.git_dir, *args], capture_output=True, text=True)
        if res.returncode != 0:
            return None
        return res.stdout

    def show(self, path):
        if path not in self._cache:
            self._cache[path] = self._git("show", f"{self.rev}:{path}")
        return self._cache[path]

    def ls(self, path):
        out = self._git("ls-tree", "--name-only", f"{self.rev}:{path}")
        if out is None:
            raise ExtractError(f"{path} not found at {self.rev}")
        return out.split()

    def module_source(self, module):
        """Source of a python module of the project (module.py or module/__init__.py)."""
        base = self.src_root + "/" + module.replace(".", "/")
        for path in (base + ".py", base + "/__init__.py"):
            src = self.show(path)
            if src is not None:
                return path, src
        return None, None


def import_aliases(tree, module=None):
    """Map local names to fully qualified names from a module's top-level imports."""
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    # `import a.b.c` binds `a`; dotted uses are resolved textually.
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level and module:
                parts = module.split(".")
                pkg = parts[: len(parts) - node.level]
                mod = ".".join(pkg + ([mod] if mod else []))
            for a in node.names:
                aliases[a.asname or a.name] = f"{mod}.{a.name}" if mod else a.name
    return aliases


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        left = dotted(node.value)
        return f"{left}.{node.attr}" if left else None
    return None


def qualify(name, aliases):
    head, _, rest = name.partition(".")
    if head in aliases:
        full = aliases[head]
        return f"{full}.{rest}" if rest else full
    return name


def normalise_django(fq):
    for prefix in ("django.db.models.fields.related.", "django.db.models.fields.json.",
                   "django.db.models.fields.files.", "django.db.models.fields."):
        if fq.startswith(prefix):
            return DJANGO + fq[len(prefix):]
    return fq


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


class FieldResolver:
    """Resolves a field's fully qualified class to a type class (see the header)."""

    def __init__(self, repo):
        self.repo = repo
        self.cache = {}

    def classify(self, fq, depth=0):
        fq = normalise_django(fq)
        if fq in KNOWN_FIELDS or fq in RELATIONS or fq == M2M:
            return fq
        if fq in self.cache:
            return self.cache[fq]
        if depth > 10:
            raise ExtractError(f"cannot resolve field {fq}: too deep")
        module, _, name = fq.rpartition(".")
        path, src = self.repo.module_source(module)
        if src is None:
            raise ExtractError(f"unknown field class {fq} (module {module} not in the repository)")
        tree = ast.parse(src, path)
        aliases = import_aliases(tree, module)
        result = None
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                for base in node.bases:
                    b = dotted(base)
                    if not b:
                        continue
                    try:
                        result = self.classify(qualify(b, aliases), depth + 1)
                        break
                    except ExtractError:
                        continue
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                if isinstance(node.value, ast.Call):
                    factory = dotted(node.value.func)
                    if factory:
                        result = self.factory_result(qualify(factory, aliases), depth + 1)
        if result is None and name in aliases and aliases[name] != fq:
            result = self.classify(aliases[name], depth + 1)  # re-exported import
        if result is None:
            raise ExtractError(f"cannot resolve field class {fq} in {path}")
        self.cache[fq] = result
        return result

    def factory_result(self, fq, depth):
        """A field-class factory: follow its return annotation Type[Base]."""
        module, _, name = fq.rpartition(".")
        path, src = self.repo.module_source(module)
        if src is None:
            raise ExtractError(f"factory {fq} not found")
        tree = ast.parse(src, path)
        aliases = import_aliases(tree, module)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                ret = node.returns
                if isinstance(ret, ast.Subscript) and dotted(ret.value) in ("Type", "type", "typing.Type"):
                    base = dotted(ret.slice)
                    if base:
                        return self.classify(qualify(base, aliases), depth + 1)
                raise ExtractError(f"factory {fq} in {path} has no Type[...] return annotation")
        if name in aliases:
            return self.factory_result(aliases[name], depth + 1)
        raise ExtractError(f"factory {fq} not found in {path}")


class Field:
    def __init__(self, fq, kwargs, where):
        self.fq = fq
        self.kwargs = kwargs
        self.where = where


def parse_field(call, aliases, where):
    if not isinstance(call, ast.Call):
        raise ExtractError(f"{where}: field is not a call")
    name = dotted(call.func)
    if not name:
        raise ExtractError(f"{where}: cannot read the field class")
    kwargs = {}
    for kw in call.keywords:
        if kw.arg in ("null", "primary_key", "db_column", "max_length", "to_field", "unique"):
            kwargs[kw.arg] = literal(kw.value)
        elif kw.arg == "to":
            kwargs["to"] = literal(kw.value)
            if kwargs["to"] is None:
                raise ExtractError(f"{where}: relation target is not a literal")
    if name.split(".")[-1] in ("ForeignKey", "OneToOneField", "ManyToManyField") and "to" not in kwargs:
        if call.args:
            kwargs["to"] = literal(call.args[0])
    return Field(normalise_django(qualify(name, aliases)), kwargs, where)


def kw(call, key, pos=None):
    for k in call.keywords:
        if k.arg == key:
            return k.value
    if pos is not None and len(call.args) > pos:
        return call.args[pos]
    return None


class Migration:
    def __init__(self, app, name, deps, ops, aliases, path):
        self.app = app
        self.name = name
        self.deps = deps
        self.ops = ops
        self.aliases = aliases
        self.path = path


def app_label(repo, pkg_dir):
    src = repo.show(pkg_dir + "/apps.py")
    if src is None:
        raise ExtractError(f"{pkg_dir}/apps.py not found")
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            label = name = None
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                    if stmt.targets[0].id == "label":
                        label = literal(stmt.value)
                    elif stmt.targets[0].id == "name":
                        name = literal(stmt.value)
            if label or name:
                return label or name.rsplit(".", 1)[-1]
    raise ExtractError(f"no AppConfig in {pkg_dir}/apps.py")


def load_migrations(repo, pkg_dir, label):
    mdir = pkg_dir + "/migrations"
    out = []
    for fname in sorted(repo.ls(mdir)):
        if not fname.endswith(".py") or fname.startswith("_"):
            continue
        path = f"{mdir}/{fname}"
        tree = ast.parse(repo.show(path), path)
        aliases = import_aliases(tree)
        cls = next(
            (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
        )
        if cls is None:
            raise ExtractError(f"{path}: no Migration class")
        deps, ops = [], []
        for stmt in cls.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            target = stmt.targets[0].id
            if target == "dependencies":
                for elt in stmt.value.elts:
                    val = literal(elt)
                    if isinstance(val, tuple) and len(val) == 2:
                        deps.append(val)
                    # swappable_dependency(...) and the like name apps outside our set
            elif target == "operations":
                ops = list(stmt.value.elts)
            elif target in ("replaces", "run_before"):
                if literal(stmt.value):
                    raise ExtractError(f"{path}: `{target}` is not supported")
        out.append(Migration(label, fname[:-3], deps, ops, aliases, path))
    return out


def apply_plan(migrations):
    """Django's order: for each leaf (sorted), forwards_plan = DFS over parents, last first."""
    nodes = {(m.app, m.name): m for m in migrations}
    apps = {m.app for m in migrations}
    parents = {}
    for key, m in nodes.items():
        ps = set()
        for app, name in m.deps:
            if app not in apps:
                continue
            if name in ("__first__", "__latest__"):
                cands = sorted(n for (a, n) in nodes if a == app)
                name = cands[0] if name == "__first__" else cands[-1]
            if (app, name) not in nodes:
                raise ExtractError(f"{m.path}: dependency {app}.{name} not found")
            ps.add((app, name))
        parents[key] = ps
    children = {k: set() for k in nodes}
    for k, ps in parents.items():
        for p in ps:
            children[p].add(k)
    leaves = sorted(k for k in nodes if not any(c[0] == k[0] for c in children[k]))
    plan, seen = [], set()

    def visit(k, stack):
        if k in seen:
            return
        if k in stack:
            raise ExtractError(f"dependency cycle at {k}")
        stack.add(k)
        # Django's iterative_dfs pushes the sorted parents on a stack: the last is walked first.
        for p in sorted(parents[k], reverse=True):
            visit(p, stack)
        stack.discard(k)
        seen.add(k)
        plan.append(nodes[k])

    for leaf in leaves:
        visit(leaf, set())
    return plan


class State:
    def __init__(self):
        # (app, model_lower) -> {"name", "fields": OrderedDict(name -> Field), "db_table"}
        self.models = {}

    def model(self, app, name, where):
        key = (app, name.lower())
        if key not in self.models:
            raise ExtractError(f"{where}: model {app}.{name} not in state")
        return self.models[key]

    def apply(self, mig):
        for op in mig.ops:
            if not isinstance(op, ast.Call):
                raise ExtractError(f"{mig.path}: operation is not a call")
            opname = (dotted(op.func) or "").split(".")[-1]
            where = f"{mig.path}:{op.lineno} {opname}"
            app = mig.app
            if opname in SKIPPED_OPS:
                continue
            if opname == "CreateModel":
                name = literal(kw(op, "name", 0))
                fields = OrderedDict()
                for elt in kw(op, "fields", 1).elts:
                    fname = literal(elt.elts[0])
                    fields[fname] = parse_field(elt.elts[1], mig.aliases, f"{where} {name}.{fname}")
                db_table = None
                options = kw(op, "options", 2)
                if options is not None and isinstance(options, ast.Dict):
                    for k, v in zip(options.keys, options.values):
                        if literal(k) == "db_table":
                            db_table = literal(v)
                self.models[(app, name.lower())] = {"name": name, "fields": fields, "db_table": db_table}
            elif opname == "DeleteModel":
                name = literal(kw(op, "name", 0))
                self.model(app, name, where)
                del self.models[(app, name.lower())]
            elif opname == "RenameModel":
                old, new = literal(kw(op, "old_name", 0)), literal(kw(op, "new_name", 1))
                m = self.models.pop((app, old.lower()))
                m["name"] = new
                self.models[(app, new.lower())] = m
                self._retarget(f"{app}.{old}", f"{app}.{new}")
            elif opname == "AlterModelTable":
                name = literal(kw(op, "name", 0))
                self.model(app, name, where)["db_table"] = literal(kw(op, "table", 1))
            elif opname in ("AddField", "AlterField"):
                mname = literal(kw(op, "model_name", 0))
                fname = literal(kw(op, "name", 1))
                fields = self.model(app, mname, where)["fields"]
                if opname == "AddField" and fname in fields:
                    raise ExtractError(f"{where}: {mname}.{fname} already exists")
                if opname == "AlterField" and fname not in fields:
                    raise ExtractError(f"{where}: {mname}.{fname} does not exist")
                fields[fname] = parse_field(kw(op, "field", 2), mig.aliases, f"{where} {mname}.{fname}")
            elif opname == "RemoveField":
                mname = literal(kw(op, "model_name", 0))
                fname = literal(kw(op, "name", 1))
                fields = self.model(app, mname, where)["fields"]
                if fname not in fields:
                    raise ExtractError(f"{where}: {mname}.{fname} does not exist")
                del fields[fname]
            elif opname == "RenameField":
                mname = literal(kw(op, "model_name", 0))
                old, new = literal(kw(op, "old_name", 1)), literal(kw(op, "new_name", 2))
                m = self.model(app, mname, where)
                m["fields"] = OrderedDict((new if k == old else k, v) for k, v in m["fields"].items())
            else:
                raise ExtractError(f"{where}: unsupported operation {opname}")

    def _retarget(self, old, new):
        for m in self.models.values():
            for f in m["fields"].values():
                to = f.kwargs.get("to")
                if isinstance(to, str) and to.lower() == old.lower():
                    f.kwargs["to"] = new

    def table(self, app, m):
        return m["db_table"] or f"{app}_{m['name'].lower()}"


def columns(state, resolver):
    rows = []

    def field_class(app, f):
        kind = resolver.classify(f.fq)
        if kind in RELATIONS:
            to = f.kwargs["to"]
            tapp, _, tmodel = to.rpartition(".")
            target = state.model(tapp or app, tmodel, f.where)
            tf = target["fields"].get(f.kwargs["to_field"]) if f.kwargs.get("to_field") else pk_field(target)
            return "int" if tf is None else field_class(tapp or app, tf)
        return KNOWN_FIELDS[kind]

    def pk_field(m):
        for f in m["fields"].values():
            if f.kwargs.get("primary_key"):
                return f
        return None  # implicit `id` AutoField

    for (app, _), m in state.models.items():
        table = state.table(app, m)
        if pk_field(m) is None:
            rows.append((table, "id", "int", "NO"))
        for fname, f in m["fields"].items():
            kind = resolver.classify(f.fq)
            if kind == M2M:
                continue
            col = f.kwargs.get("db_column") or (fname + "_id" if kind in RELATIONS else fname)
            cls = field_class(app, f)
            nullable = (bool(f.kwargs.get("null")) or kind in ALWAYS_NULL) and not f.kwargs.get("primary_key")
            rows.append((table, col, cls, "YES" if nullable else "NO"))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--git-dir", required=True)
    ap.add_argument("--rev", required=True)
    ap.add_argument("--src-root", default="apiserver/paasng")
    ap.add_argument("--app", action="append", required=True, help="the app's package directory")
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("columns")
    c.add_argument("--table", action="append", help="tables to print (default: all)")
    sub.add_parser("migrations")
    args = ap.parse_args(argv)

    repo = Repo(args.git_dir, args.rev, args.src_root)
    try:
        migrations = []
        for pkg in args.app:
            pkg = pkg.rstrip("/")
            migrations += load_migrations(repo, pkg, app_label(repo, pkg))
        plan = apply_plan(migrations)
        if args.mode == "migrations":
            for m in plan:
                print(f"{m.app}\t{m.name}")
            return 0
        state = State()
        for m in plan:
            state.apply(m)
        rows = columns(state, FieldResolver(repo))
        wanted = set(args.table or [])
        have = {r[0] for r in rows}
        missing = wanted - have
        if missing:
            raise ExtractError(f"tables not found: {', '.join(sorted(missing))}")
        for r in sorted(rows):
            if not wanted or r[0] in wanted:
                print("\t".join(r))
    except ExtractError as e:
        print(f"extract_columns: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
