//! Per-backend cache of compiled rule sets, one per table that fires the write path.
//!
//! Declaring or dropping a constraint sends a relcache invalidation for its table (and PostgreSQL
//! sends one for every DDL on it), so an entry is dropped exactly when its rules may have changed,
//! in this backend and all others, with no catalog lookup per statement.

use super::{as_extension_owner, parse_with_type, Repr};
use crate::error::raise;
use crate::profile::ProfileKind;
use crate::rules::aggregate::{AggregateKind, Bounds};
use crate::rules::multi::{IgnoreRowIf, MultiKind, MultiSpec};
use crate::rules::shape::{ShapeKind, ShapeSpec};
use crate::rules::{self, kernel, Mode, Num, Params, Range, RuleKind};
use crate::trigger::eval::Kernel;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, Datum, Oid};
use pgrx::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

pub struct CompiledRule {
    pub id: i32,
    pub name: String,
    /// The table the rule was declared on (an ancestor when the firing table is a partition).
    pub relid: Oid,
    pub column: String,
    /// 0-based position of the column in the firing table's tuple descriptor.
    pub attno: usize,
    pub typid: Oid,
    pub repr: Repr,
    pub kind: RuleKind,
    pub mode: Mode,
    pub mostly: f64,
    pub kernel: Kernel,
}

/// A batch-level constraint: an aggregate of a column (or the row count) judged per write batch.
pub struct CompiledAggregate {
    pub id: i32,
    pub name: String,
    pub relid: Oid,
    /// The column's name, position and representation; None for the row count.
    pub column: Option<(String, usize, Repr)>,
    pub kind: AggregateKind,
    pub mode: Mode,
    pub bounds: Bounds,
    pub quantile: Option<f64>,
    /// no_drift: the metric ('auto' or a name) and its threshold (None: learned).
    pub metric: String,
    pub threshold: Option<f64>,
}

/// A column a multi-value expectation reads.
pub struct MultiColumn {
    pub name: String,
    /// 0-based position in the firing table's tuple descriptor.
    pub attno: usize,
    pub repr: Repr,
    pub typid: Oid,
}

/// An expectation over several columns, a batch's order or uniqueness, or its value set
/// (rules::multi).
pub struct CompiledMulti {
    pub id: i32,
    pub name: String,
    pub relid: Oid,
    pub columns: Vec<MultiColumn>,
    pub mode: Mode,
    pub mostly: f64,
    pub spec: MultiSpec,
}

impl CompiledMulti {
    /// The columns as one label, for messages and the violation log.
    pub fn column_label(&self) -> String {
        self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    pub fn render(&self, i: usize, v: crate::rules::multi::Value<'_>) -> serde_json::Value {
        let c = &self.columns[i.min(self.columns.len() - 1)];
        crate::trigger::multi::render(c.repr, c.typid, v)
    }
}

/// An expectation on the table's shape, judged when the rules are compiled (rules::shape).
pub struct CompiledShape {
    pub id: i32,
    pub name: String,
    pub relid: Oid,
    pub kind: ShapeKind,
    pub mode: Mode,
    pub success: bool,
    pub observed: serde_json::Value,
}

pub struct RuleSet {
    pub relid: Oid,
    /// The table itself and its partition ancestors: invalidating any of them drops this entry.
    pub lineage: Vec<Oid>,
    pub rules: Vec<CompiledRule>,
    /// Rules judged on the statement's transition table (reject, warn).
    pub batch: Vec<usize>,
    /// Rules that act on each row before it is stored (quarantine, clamp, set_null).
    pub per_row: Vec<usize>,
    pub utf8: bool,
    /// Statistics to record for writes into this table, when it (or its root) is watched.
    pub watch: Option<Watch>,
    /// Batch-level constraints.
    pub aggregates: Vec<CompiledAggregate>,
    /// Multi-value expectations (quarantine ones are also judged per row, see `per_row_multi`).
    pub multi: Vec<CompiledMulti>,
    /// Table shape expectations, already judged.
    pub shapes: Vec<CompiledShape>,
}

impl RuleSet {
    /// Row-local multi-column expectations that quarantine a failing row before it is stored.
    pub fn per_row_multi(&self) -> impl Iterator<Item = &CompiledMulti> {
        self.multi.iter().filter(|m| m.mode == Mode::Quarantine)
    }

    /// Multi-value expectations judged on the statement's transition table.
    pub fn batch_multi(&self) -> impl Iterator<Item = &CompiledMulti> {
        self.multi.iter().filter(|m| m.mode != Mode::Quarantine)
    }
}

pub struct WatchedColumn {
    /// 0-based position in the firing table's tuple descriptor.
    pub attno: usize,
    /// The column's number in the watched table, the key its statistics are stored under.
    pub attnum: i16,
    pub repr: Repr,
    pub kind: ProfileKind,
}

pub struct Watch {
    /// The watched table (an ancestor when the firing table is a partition).
    pub relid: Oid,
    pub epoch: i32,
    pub window_usecs: i64,
    /// The time column (0-based position, layout); None: the window of the write's time.
    pub time: Option<(usize, Repr)>,
    pub columns: Vec<WatchedColumn>,
    /// The columns whose pairs' row order is counted (profile::relations): positions in
    /// `columns` of the first numeric ones stored as integers or floats.
    pub paired: Vec<usize>,
}

thread_local! {
    static CACHE: RefCell<HashMap<Oid, Rc<RuleSet>>> = RefCell::new(HashMap::new());
    /// Bumped by every invalidation, so a compile that raced with one is not cached.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: Datum, relid: Oid) {
    GENERATION.with(|g| g.set(g.get() + 1));
    CACHE.with(|c| {
        if let Ok(mut map) = c.try_borrow_mut() {
            if relid == pg_sys::InvalidOid {
                map.clear();
            } else {
                map.retain(|_, set| !set.lineage.contains(&relid));
            }
        }
    });
}

pub fn register_invalidation() {
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), Datum::from(0)) };
}

/// Tells every backend (this one at the next command) that `relid`'s rules changed.
pub fn invalidate(relid: Oid) {
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
}

/// The compiled rules that apply to writes into `relid`.
pub fn ruleset_for(relid: Oid) -> Rc<RuleSet> {
    if let Some(set) = CACHE.with(|c| c.borrow().get(&relid).cloned()) {
        return set;
    }
    let generation = GENERATION.with(Cell::get);
    let set = Rc::new(compile(relid));
    if GENERATION.with(Cell::get) == generation {
        CACHE.with(|c| c.borrow_mut().insert(relid, set.clone()));
    }
    set
}

struct Row {
    id: i32,
    name: String,
    declared_on: Oid,
    kind: String,
    mode: String,
    mostly: f64,
    params: String,
    attnum: i16,
    column: String,
    typid: Oid,
}

const RULES_QUERY: &str = "
SELECT c.constraint_id, c.constraint_name, c.relid, c.kind, c.on_violation, c.mostly,
       c.params::text, coalesce(ta.attnum, 0::smallint), coalesce(ta.attname::text, ''), coalesce(ta.atttypid, 0::oid)
  FROM vigil.constraint_def c
  LEFT JOIN pg_catalog.pg_attribute ta
    ON ta.attrelid = $1 AND ta.attname = c.column_name AND NOT ta.attisdropped
 WHERE c.enabled
   AND (c.column_name IS NULL OR ta.attnum IS NOT NULL) -- NULL: a constraint on the table (row count)
   AND (c.relid = $1 OR c.relid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a))
 ORDER BY c.constraint_id";

// The catalog before 0.3.0 kept columns by attnum (catalog::columns_by_name).
const RULES_QUERY_BEFORE_0_3: &str = "
SELECT c.constraint_id, c.constraint_name, c.relid, c.kind, c.on_violation, c.mostly,
       c.params::text, coalesce(ta.attnum, 0::smallint), coalesce(ta.attname::text, ''), coalesce(ta.atttypid, 0::oid)
  FROM vigil.constraint_def c
  LEFT JOIN pg_catalog.pg_attribute pa
    ON pa.attrelid = c.relid AND pa.attnum = c.attnum AND NOT pa.attisdropped
  LEFT JOIN pg_catalog.pg_attribute ta
    ON ta.attrelid = $1 AND ta.attname = pa.attname AND NOT ta.attisdropped
 WHERE c.enabled
   AND (c.attnum = 0 OR ta.attnum IS NOT NULL) -- attnum 0: a constraint on the table (row count)
   AND (c.relid = $1 OR c.relid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a))
 ORDER BY c.constraint_id";

fn load(relid: Oid) -> (Vec<Oid>, Vec<Row>) {
    as_extension_owner(|| {
        Spi::connect(|client| {
            let lineage: Vec<Oid> = client
                .select("SELECT relid FROM pg_catalog.pg_partition_ancestors($1)", None, &[relid.into()])?
                .map(|r| r.get::<Oid>(1).ok().flatten().unwrap_or(relid))
                .collect();
            let mut rows = Vec::new();
            for r in client.select(super::for_catalog(RULES_QUERY, RULES_QUERY_BEFORE_0_3), None, &[relid.into()])? {
                rows.push(Row {
                    id: r.get(1)?.unwrap_or_default(),
                    name: r.get(2)?.unwrap_or_default(),
                    declared_on: r.get(3)?.unwrap_or(relid),
                    kind: r.get(4)?.unwrap_or_default(),
                    mode: r.get(5)?.unwrap_or_default(),
                    mostly: r.get(6)?.unwrap_or(1.0),
                    params: r.get(7)?.unwrap_or_default(),
                    attnum: r.get(8)?.unwrap_or_default(),
                    column: r.get(9)?.unwrap_or_default(),
                    typid: r.get(10)?.unwrap_or(pg_sys::InvalidOid),
                });
            }
            Ok::<_, pgrx::spi::Error>((if lineage.is_empty() { vec![relid] } else { lineage }, rows))
        })
        .unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil: cannot read constraints: {e}"), None, None)
        })
    })
}

// Columns are found by name in the firing table (a partition's attnums may differ from its
// root's, a restored table's from the dumped one's); statistics are stored under the watch's keys.
const WATCH_QUERY: &str = "
SELECT w.relid, w.epoch, (extract(epoch FROM w.window_size) * 1000000)::bigint, ta.attnum, ta.atttypid
  FROM vigil.watch_def w
  LEFT JOIN pg_catalog.pg_attribute ta ON ta.attrelid = $1 AND ta.attname = w.time_column AND NOT ta.attisdropped
 WHERE w.relid = $1 OR w.relid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a)";

const WATCHED_COLUMNS_QUERY: &str = "
SELECT ta.attnum, k.key, ta.atttypid
  FROM vigil.watch_def w
 CROSS JOIN LATERAL unnest(w.attnums, w.columns) AS k(key, name)
  JOIN pg_catalog.pg_attribute ta ON ta.attrelid = $2 AND ta.attname = k.name AND NOT ta.attisdropped
 WHERE w.relid = $1
 ORDER BY k.key";

// The catalog before 0.3.0 (catalog::columns_by_name).
const WATCH_QUERY_BEFORE_0_3: &str = "
SELECT w.relid, w.epoch, (extract(epoch FROM w.window_size) * 1000000)::bigint,
       (SELECT ta.attnum FROM pg_catalog.pg_attribute pa JOIN pg_catalog.pg_attribute ta
            ON ta.attrelid = $1 AND ta.attname = pa.attname AND NOT ta.attisdropped
         WHERE pa.attrelid = w.relid AND pa.attnum = w.time_attnum),
       (SELECT ta.atttypid FROM pg_catalog.pg_attribute pa JOIN pg_catalog.pg_attribute ta
            ON ta.attrelid = $1 AND ta.attname = pa.attname AND NOT ta.attisdropped
         WHERE pa.attrelid = w.relid AND pa.attnum = w.time_attnum)
  FROM vigil.watch_def w
 WHERE w.relid = $1 OR w.relid IN (SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a)";

const WATCHED_COLUMNS_QUERY_BEFORE_0_3: &str = "
SELECT ta.attnum, pa.attnum, ta.atttypid
  FROM pg_catalog.pg_attribute pa
  JOIN pg_catalog.pg_attribute ta ON ta.attrelid = $2 AND ta.attname = pa.attname AND NOT ta.attisdropped
 WHERE pa.attrelid = $1 AND pa.attnum = ANY ((SELECT attnums FROM vigil.watch_def WHERE relid = $1)::smallint[])
   AND NOT pa.attisdropped
 ORDER BY pa.attnum";

/// The watch that applies to writes into `relid`, if any.
fn load_watch(relid: Oid) -> Option<Watch> {
    as_extension_owner(|| {
        Spi::connect(|client| {
            let mut rows = client.select(super::for_catalog(WATCH_QUERY, WATCH_QUERY_BEFORE_0_3), Some(1), &[relid.into()])?;
            let Some(row) = rows.next() else { return Ok(None) };
            let watched: Oid = row.get(1)?.unwrap_or(relid);
            let epoch: i32 = row.get(2)?.unwrap_or(1);
            let window_usecs: i64 = row.get(3)?.unwrap_or(super::USECS_PER_DAY);
            let time = match (row.get::<i16>(4)?, row.get::<Oid>(5)?) {
                (Some(attnum), Some(typid)) => Some(((attnum - 1) as usize, Repr::of(typid))),
                _ => None,
            };
            let mut columns = Vec::new();
            for r in client.select(super::for_catalog(WATCHED_COLUMNS_QUERY, WATCHED_COLUMNS_QUERY_BEFORE_0_3), None, &[watched.into(), relid.into()])? {
                let (attno, attnum, typid) = (r.get::<i16>(1)?.unwrap_or(1), r.get::<i16>(2)?.unwrap_or(1), r.get::<Oid>(3)?);
                let repr = Repr::of(typid.unwrap_or(pg_sys::InvalidOid));
                if let Some(kind) = repr.profile_kind() {
                    columns.push(WatchedColumn { attno: (attno - 1) as usize, attnum, repr, kind });
                }
            }
            let paired = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c.repr, Repr::Int2 | Repr::Int4 | Repr::Int8 | Repr::Float4 | Repr::Float8))
                .map(|(i, _)| i)
                .take(crate::profile::relations::MAX_COLUMNS)
                .collect();
            Ok::<_, pgrx::spi::Error>(Some(Watch { relid: watched, epoch, window_usecs, time, columns, paired }))
        })
        .unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_vigil: cannot read watch settings: {e}"), None, None)
        })
    })
}

fn compile(relid: Oid) -> RuleSet {
    let (lineage, rows) = load(relid);
    let utf8 = super::database_is_utf8();
    let watch = load_watch(relid);
    let mut set =
        RuleSet {
        relid,
        lineage,
        rules: Vec::new(),
        batch: Vec::new(),
        per_row: Vec::new(),
        utf8,
        watch,
        aggregates: Vec::new(),
        multi: Vec::new(),
        shapes: Vec::new(),
    };
    for row in rows {
        if let Some(kind) = AggregateKind::parse(&row.kind) {
            set.aggregates.push(compile_aggregate(row, kind));
            continue;
        }
        if let Some(kind) = ShapeKind::parse(&row.kind) {
            set.shapes.push(compile_shape(row, kind));
            continue;
        }
        if let Some(kind) = MultiKind::parse(&row.kind) {
            if let Some(multi) = compile_multi(relid, row, kind) {
                set.multi.push(multi);
            }
            continue;
        }
        let rule = compile_rule(row);
        let i = set.rules.len();
        if rule.mode.acts_per_row() {
            // Quarantine rules first: a diverted row is not repaired, so repairs are not counted.
            if rule.mode == Mode::Quarantine {
                let at = set.per_row.iter().take_while(|&&j| set.rules[j].mode == Mode::Quarantine).count();
                set.per_row.insert(at, i);
            } else {
                set.per_row.push(i);
            }
        } else {
            set.batch.push(i);
        }
        set.rules.push(rule);
    }
    set
}

/// Catalog rows were validated when declared; a row that no longer compiles (say, after
/// ALTER COLUMN TYPE) is reported rather than silently skipped.
fn broken(row: &Row, why: impl std::fmt::Display) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
        format!("pg_vigil constraint \"{}\" on column \"{}\" cannot be applied: {why}", row.name, row.column),
        None,
        Some("Drop it with vigil.drop_constraint and declare it again for the column's current type.".into()),
    )
}

fn compile_aggregate(row: Row, kind: AggregateKind) -> CompiledAggregate {
    let mode = Mode::parse(&row.mode).unwrap_or_else(|| broken(&row, "unknown on_violation"));
    let params: Params = serde_json::from_str(&row.params).unwrap_or_else(|e| broken(&row, e));
    let bound = |s: &Option<String>| s.as_deref().map(|t| t.parse::<f64>().unwrap_or_else(|e| broken(&row, e)));
    let bounds = Bounds { min: bound(&params.min), max: bound(&params.max), strict_min: params.strict_min, strict_max: params.strict_max };
    let column = (row.attnum > 0).then(|| (row.column.clone(), (row.attnum - 1) as usize, Repr::of(row.typid)));
    if kind.needs_numbers() && !column.as_ref().is_some_and(|c| c.2.kind().is_numeric()) {
        broken(&row, format!("{} needs a numeric column", kind.as_str()));
    }
    CompiledAggregate {
        id: row.id,
        name: row.name,
        relid: row.declared_on,
        column,
        kind,
        mode,
        bounds,
        quantile: params.quantile,
        metric: params.metric.unwrap_or_else(|| "auto".into()),
        threshold: params.threshold,
    }
}

/// The columns of the table the expectation was declared on, in order, judged now: a DDL change
/// of the table invalidates this compilation.
fn compile_shape(row: Row, kind: ShapeKind) -> CompiledShape {
    let mode = Mode::parse(&row.mode).unwrap_or_else(|| broken(&row, "unknown on_violation"));
    let params: Params = serde_json::from_str(&row.params).unwrap_or_else(|e| broken(&row, e));
    let spec = ShapeSpec {
        columns: params.expected_columns,
        exact_match: params.exact_match,
        min: params.min.as_deref().and_then(|m| m.parse().ok()),
        max: params.max.as_deref().and_then(|m| m.parse().ok()),
        column_index: params.column_index,
    };
    let actual = table_columns(row.declared_on);
    let (success, observed) = crate::rules::shape::judge(kind, &spec, &actual);
    CompiledShape { id: row.id, name: row.name, relid: row.declared_on, kind, mode, success, observed }
}

/// A table's column names in order (dropped ones left out).
pub fn table_columns(relid: Oid) -> Vec<String> {
    super::select_one::<Vec<String>>(
        "SELECT coalesce(array_agg(attname::text ORDER BY attnum), '{}') FROM pg_catalog.pg_attribute
          WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
        &[relid.into()],
    )
    .ok()
    .flatten()
    .unwrap_or_default()
}

/// None when a column other than the first is missing from the firing table: it was dropped
/// (the sql_drop event trigger drops the expectation with it at the end of the command).
fn compile_multi(relid: Oid, row: Row, kind: MultiKind) -> Option<CompiledMulti> {
    let mode = Mode::parse(&row.mode).unwrap_or_else(|| broken(&row, "unknown on_violation"));
    let params: Params = serde_json::from_str(&row.params).unwrap_or_else(|e| broken(&row, e));
    let names = params.columns.clone().unwrap_or_else(|| vec![row.column.clone()]);
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let cname = std::ffi::CString::new(name.as_str()).unwrap_or_default();
        let attnum = unsafe { pg_sys::get_attnum(relid, cname.as_ptr()) };
        if attnum <= 0 {
            return None;
        }
        let typid = unsafe { pg_sys::get_atttype(relid, attnum) };
        columns.push(MultiColumn { name: name.clone(), attno: (attnum - 1) as usize, repr: Repr::of(typid), typid });
    }
    let mut spec = MultiSpec::new(kind, names);
    spec.ignore = params.ignore_row_if.as_deref().and_then(IgnoreRowIf::parse).unwrap_or(IgnoreRowIf::AllMissing);
    spec.or_equal = params.or_equal;
    spec.strictly = params.strictly;
    spec.ties_okay = params.ties_okay;
    spec.total = params.total;
    if let Some(values) = &params.values {
        let c = &columns[0];
        let keys = values.iter().map(|v| crate::trigger::multi::parse_key(c.repr, c.typid, v).unwrap_or_else(|e| broken(&row, e)));
        spec.values = Some(keys.collect());
    }
    // The declaration checked the types; a column's type changed since (ALTER COLUMN TYPE) is
    // reported, not judged with values of the wrong kind.
    let groups: Vec<_> = columns.iter().map(|c| c.repr.value_group()).collect();
    if let Some(i) = crate::rules::multi::misfit(kind, &groups) {
        broken(&row, format!("{} cannot judge column \"{}\" of its type", kind.as_str(), columns[i].name));
    }
    Some(CompiledMulti { id: row.id, name: row.name, relid: row.declared_on, columns, mode, mostly: row.mostly, spec })
}

fn compile_rule(row: Row) -> CompiledRule {
    let kind = RuleKind::parse(&row.kind).unwrap_or_else(|| broken(&row, "unknown kind"));
    let mode = Mode::parse(&row.mode).unwrap_or_else(|| broken(&row, "unknown on_violation"));
    let params: Params = serde_json::from_str(&row.params).unwrap_or_else(|e| broken(&row, e));
    let repr = Repr::of(row.typid);
    if !kind.accepts(repr.kind()) {
        broken(&row, format!("rule {} does not fit the column's type", kind.as_str()));
    }
    let kernel = build_kernel(&row, kind, repr, &params);
    CompiledRule {
        id: row.id,
        name: row.name,
        relid: row.declared_on,
        column: row.column,
        attno: (row.attnum - 1) as usize,
        typid: row.typid,
        repr,
        kind,
        mode,
        mostly: row.mostly,
        kernel,
    }
}

fn numeric_bounds(row: &Row, params: &Params) -> Range<Num> {
    let parse = |s: &Option<String>| s.as_deref().map(|t| rules::parse_bound(t).unwrap_or_else(|e| broken(row, e)));
    Range { min: parse(&params.min), max: parse(&params.max), strict_min: params.strict_min, strict_max: params.strict_max }
}

fn build_kernel(row: &Row, kind: RuleKind, repr: Repr, params: &Params) -> Kernel {
    match kind {
        RuleKind::NotNull => Kernel::NotNull,
        RuleKind::Null => Kernel::IsNull,
        RuleKind::Finite => Kernel::Finite,
        RuleKind::Between => match repr {
            Repr::Int2 | Repr::Int4 | Repr::Int8 => Kernel::int_range(numeric_bounds(row, params).to_int_range()),
            Repr::Float4 | Repr::Float8 => Kernel::float_range(numeric_bounds(row, params).to_float_range()),
            // Stored as inclusive ends at declaration (see rules::inclusive_int_bounds).
            Repr::Date | Repr::Timestamp => Kernel::int_range(Range {
                min: params.min_internal,
                max: params.max_internal,
                strict_min: false,
                strict_max: false,
            }),
            Repr::Numeric => {
                // Bounds live as long as the backend; a few bytes per recompile.
                let to_datum = |s: &Option<String>| {
                    s.as_deref().map(|t| unsafe {
                        let old = pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
                        let d = parse_with_type(t, pg_sys::NUMERICOID, -1);
                        pg_sys::MemoryContextSwitchTo(old);
                        d
                    })
                };
                Kernel::NumericRange(Range {
                    min: to_datum(&params.min),
                    max: to_datum(&params.max),
                    strict_min: params.strict_min,
                    strict_max: params.strict_max,
                })
            }
            _ => broken(row, "between needs a numeric, date or timestamp column"),
        },
        RuleKind::InSet | RuleKind::NotInSet => {
            let negate = kind == RuleKind::NotInSet;
            let values = params.values.clone().unwrap_or_default();
            if repr.kind() == crate::rules::ColumnKind::Int {
                let ints = values.iter().map(|v| rules::parse_int(v).unwrap_or_else(|e| broken(row, e)));
                Kernel::IntSet { set: kernel::IntSet::new(ints.collect::<Vec<_>>()), negate }
            } else if repr.kind() == crate::rules::ColumnKind::Float {
                let floats = values.iter().map(|v| rules::parse_float(v).unwrap_or_else(|e| broken(row, e)));
                // A real column holds its values as float4: "1.1" must mean the float4 nearest it.
                let floats: Vec<f64> = if repr == Repr::Float4 { floats.map(|f| f as f32 as f64).collect() } else { floats.collect() };
                Kernel::FloatSet { set: kernel::FloatSet::new(floats), negate }
            } else {
                let trimmed: Vec<String> = if repr == Repr::BpChar {
                    values.iter().map(|v| v.trim_end_matches(' ').to_string()).collect()
                } else {
                    values
                };
                Kernel::TextSet { set: kernel::TextSet::new(trimmed), negate }
            }
        }
        RuleKind::Match | RuleKind::NotMatch | RuleKind::Like | RuleKind::NotLike => {
            let pattern = kind.regex_of(params.pattern.as_deref().unwrap_or_default()).unwrap_or_else(|e| broken(row, e));
            let re = kernel::compile_regex(&pattern).unwrap_or_else(|e| broken(row, e));
            Kernel::Regex { re, negate: matches!(kind, RuleKind::NotMatch | RuleKind::NotLike) }
        }
        RuleKind::MatchAny | RuleKind::MatchAll | RuleKind::NotMatchAny | RuleKind::LikeAny | RuleKind::LikeAll | RuleKind::NotLikeAny => {
            let patterns: Vec<String> = params
                .values
                .iter()
                .flatten()
                .map(|p| kind.regex_of(p).unwrap_or_else(|e| broken(row, e)))
                .collect();
            let set = kernel::compile_regex_set(&patterns).unwrap_or_else(|e| broken(row, e));
            Kernel::Patterns {
                set,
                all: matches!(kind, RuleKind::MatchAll | RuleKind::LikeAll),
                negate: matches!(kind, RuleKind::NotMatchAny | RuleKind::NotLikeAny),
            }
        }
        RuleKind::LengthBetween => {
            let r = numeric_bounds(row, params).to_int_range();
            Kernel::Length(r)
        }
    }
}
