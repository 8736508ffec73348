/*
 * ledger_pg: the ledger's posting paths, inside the server (issue 20, migrations 0061-0067).
 *
 * ledger.post_normalized(p_key, r, p_kind, p_reverses) in C: what 0060's PL/pgSQL function
 * did, rule for rule and error for error, with the entries and the audit event written by
 * the executor's own insert routines instead of through SQL statements. The transaction row
 * is inserted as INSERT ... ON CONFLICT DO NOTHING does it (speculative insertion on the key's
 * unique index); the account heads still go through SQL (SPI, generic plans kept for the
 * backend's life), their row locks the executor's, as before. Every trigger of
 * ledger.transactions, ledger.entries and audit.events fires as for an INSERT statement:
 * BEFORE/AFTER statement and row triggers, the transition table of the spans trigger, the
 * foreign keys, the deferred seal; every check constraint and index is applied.
 *
 * ledger.post_batch_items (0064), the batch path's core, is here too: the same checks (one
 * look-up of every item's accounts), the same writers, its items decided as 0017 decides them;
 * its events chained as it inserts them when the chain lock is free (0067, batch_takes_chain).
 *
 * What a posting writes is defined by the SQL of 0060 and checked against it in the tests
 * (tst_posting: the request's fingerprint, the event's digest against
 * ledger.transaction_digests, both normalizers' errors); change both or neither.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/int.h"
#include "common/sha2.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "utils/array.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;



#define LG_SQLSTATE(a, b, c) MAKE_SQLSTATE('L', 'G', a, b, c)

/* Plans kept for the backend's life; the plan cache revalidates them after DDL. */
static SPIPlanPtr plan_lock_heads = NULL;
static SPIPlanPtr plan_existing = NULL;
static SPIPlanPtr plan_move_heads = NULL;
static SPIPlanPtr plan_format_amount = NULL;
static SPIPlanPtr plan_accounts = NULL;

static SPIPlanPtr
kept_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		/* Generic from the first call: a custom plan per posting costs more than it saves. */
		SPIPlanPtr	p = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL)
			elog(ERROR, "ledger_pg: cannot prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "ledger_pg: cannot keep a plan");
		*plan = p;
	}
	return *plan;
}

/* An account head, locked. */
typedef struct Head
{
	int64		account_id;
	int64		last_seq;
	int64		balance;
	TimestampTz last_recorded_at;
	char	   *code;
	char	   *currency;
	bool		debit;
	bool		allow_negative;
	int64		moved_legs;
} Head;

/*
 * One table's INSERT "statement" through the executor's routines, as ExecInsert does it for
 * a plain table: BEFORE STATEMENT triggers, per row BEFORE ROW triggers, constraints, the
 * heap and the indexes, AFTER ROW triggers (with the transition table, when a trigger has
 * one), then AFTER STATEMENT triggers; the queued AFTER triggers fire at its end, deferred
 * ones stay queued for the commit.
 */
typedef struct Writer
{
	Relation	rel;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	TransitionCaptureState *capture;
	EState	   *estate;
	Oid			id_sequence;
	/* row_set's look-ups: column names (the callers' string constants) and their numbers */
	const char *columns[16];
	AttrNumber	numbers[16];
	int			ncolumns;
} Writer;

/* The identity sequences, found once per backend (pg_depend is read for them). */
typedef struct SequenceOf
{
	Oid			relid;
	Oid			seqid;
} SequenceOf;
static SequenceOf sequences[2];

static Oid
identity_sequence(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	for (int i = 0; i < lengthof(sequences); i++)
		if (sequences[i].relid == relid)
			return sequences[i].seqid;
	for (int i = 0; i < lengthof(sequences); i++)
		if (!OidIsValid(sequences[i].relid))
		{
			sequences[i].seqid = getIdentitySequence(relid, attnameAttNum(rel, "id", false), false);
			sequences[i].relid = relid;
			return sequences[i].seqid;
		}
	return getIdentitySequence(relid, attnameAttNum(rel, "id", false), false);
}

static Oid
table_oid(const char *schema, const char *name)
{
	Oid			nsp = get_namespace_oid(schema, false);
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "ledger_pg: table %s.%s is missing", schema, name);
	return relid;
}

/*
 * What the executor would parse and plan again for every statement, kept for the backend's
 * life: a table's check constraints (ExecRelCheck reads them from their stored text) and its
 * partial indexes' predicates (ExecInsertIndexTuples plans them). Forgotten on any relcache
 * invalidation of the table or index, so DDL is seen as by a plain INSERT.
 */
typedef struct PlannedExprs
{
	Oid			relid;			/* a table (its checks) or an index (its predicate) */
	List	   *exprs;			/* planned, in cache_context */
} PlannedExprs;

#define MAX_PLANNED 32
static PlannedExprs planned[MAX_PLANNED];
static int	nplanned = 0;
static MemoryContext cache_context = NULL;

static bool planned_stale = false;

/*
 * Marks them stale: they are let go at the next posting's start, never while a call may be
 * using them (an invalidation can arrive in the middle of one, when a lock is taken).
 */
static void
forget_planned(Datum arg, Oid relid)
{
	planned_stale = true;
	/* The identity sequences too (a Writer keeps its own copy of the one it uses). */
	memset(sequences, 0, sizeof(sequences));
}

static void
let_go_of_stale_planned(void)
{
	if (planned_stale && cache_context != NULL)
	{
		nplanned = 0;
		MemoryContextReset(cache_context);
	}
	planned_stale = false;
}

static List *
planned_exprs(Oid relid, List *(*plan) (Relation, void *), Relation rel, void *arg)
{
	MemoryContext old;
	List	   *exprs;

	for (int i = 0; i < nplanned; i++)
		if (planned[i].relid == relid)
			return planned[i].exprs;
	if (cache_context == NULL)
	{
		cache_context = AllocSetContextCreate(TopMemoryContext, "ledger_pg planned expressions",
											  ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(forget_planned, (Datum) 0);
	}
	old = MemoryContextSwitchTo(cache_context);
	exprs = plan(rel, arg);
	MemoryContextSwitchTo(old);
	if (nplanned < MAX_PLANNED)
	{
		planned[nplanned].relid = relid;
		planned[nplanned].exprs = exprs;
		nplanned++;
	}
	return exprs;
}

/* ExecRelCheck's expressions: each check constraint's stored text, parsed and planned. */
static List *
plan_checks(Relation rel, void *arg)
{
	TupleConstr *constr = rel->rd_att->constr;
	List	   *exprs = NIL;

	for (int i = 0; i < constr->num_check; i++)
		exprs = lappend(exprs, expression_planner((Expr *) stringToNode(constr->check[i].ccbin)));
	return exprs;
}

/* ExecInsertIndexTuples' predicate of a partial index, planned. */
static List *
plan_predicate(Relation rel, void *arg)
{
	IndexInfo  *info = (IndexInfo *) arg;

	return list_make1(expression_planner((Expr *) copyObject(info->ii_Predicate)));
}

static void
prepare_expressions(Writer *w)
{
	TupleConstr *constr = w->rel->rd_att->constr;
	MemoryContext old = MemoryContextSwitchTo(w->estate->es_query_cxt);

	if (constr != NULL && constr->num_check > 0)
	{
		List	   *checks = planned_exprs(RelationGetRelid(w->rel), plan_checks, w->rel, NULL);
		int			i = 0;
		ListCell   *lc;

		/* Not the table's checks (cannot be, but never index past them): the executor's way. */
		if (list_length(checks) == constr->num_check)
		{
			w->rri->ri_ConstraintExprs = palloc(sizeof(ExprState *) * constr->num_check);
			foreach(lc, checks)
				w->rri->ri_ConstraintExprs[i++] = ExecInitExpr((Expr *) lfirst(lc), NULL);
		}
	}
	for (int i = 0; i < w->rri->ri_NumIndices; i++)
	{
		IndexInfo  *info = w->rri->ri_IndexRelationInfo[i];

		if (info->ii_Predicate != NIL && info->ii_PredicateState == NULL)
		{
			Relation	index = w->rri->ri_IndexRelationDescs[i];
			List	   *predicate = planned_exprs(RelationGetRelid(index), plan_predicate, index, info);

			info->ii_PredicateState = ExecInitQual((List *) linitial(predicate), NULL);
		}
	}
	MemoryContextSwitchTo(old);
}

static void
writer_open(Writer *w, EState *estate, Oid relid, Index rti, bool speculative)
{
	w->estate = estate;
	w->rel = table_open(relid, RowExclusiveLock);
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, rti, NULL, 0);
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, w->rri);
	ExecOpenIndices(w->rri, speculative);
	w->slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(w->rel), table_slot_callbacks(w->rel));
	w->capture = NULL;
	w->ncolumns = 0;
	w->id_sequence = identity_sequence(w->rel);
	prepare_expressions(w);
}

static void
writer_close(Writer *w)
{
	ExecCloseIndices(w->rri);
	table_close(w->rel, NoLock);
}

static void
statement_begin(Writer *w)
{
	w->estate->es_output_cid = GetCurrentCommandId(true);
	AfterTriggerBeginQuery();
	w->capture = w->rri->ri_TrigDesc
		? MakeTransitionCaptureState(w->rri->ri_TrigDesc, RelationGetRelid(w->rel), CMD_INSERT)
		: NULL;
	ExecBSInsertTriggers(w->estate, w->rri);
}

static void
statement_end(Writer *w)
{
	ExecASInsertTriggers(w->estate, w->rri, w->capture);
	AfterTriggerEndQuery(w->estate);
	CommandCounterIncrement();
}

/* An empty row: every column NULL until set (a default is the caller's to give). */
static TupleTableSlot *
row_begin(Writer *w)
{
	TupleTableSlot *slot = w->slot;

	ExecClearTuple(slot);
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	return slot;
}

static void
row_set(Writer *w, const char *column, Datum value, bool isnull)
{
	AttrNumber	a = InvalidAttrNumber;

	for (int i = 0; i < w->ncolumns; i++)
		if (w->columns[i] == column)
			a = w->numbers[i];
	if (a == InvalidAttrNumber)
	{
		a = attnameAttNum(w->rel, column, false);
		if (a != InvalidAttrNumber && w->ncolumns < lengthof(w->columns))
		{
			w->columns[w->ncolumns] = column;
			w->numbers[w->ncolumns++] = a;
		}
	}

	if (a == InvalidAttrNumber)
		elog(ERROR, "ledger_pg: column %s.%s is missing", RelationGetRelationName(w->rel), column);
	w->slot->tts_values[a - 1] = value;
	w->slot->tts_isnull[a - 1] = isnull;
}

/* The row as it will be stored: BEFORE ROW triggers, then the table's constraints. */
static void
row_prepare(Writer *w)
{
	ExecStoreVirtualTuple(w->slot);
	if (w->rri->ri_TrigDesc && w->rri->ri_TrigDesc->trig_insert_before_row &&
		!ExecBRInsertTriggers(w->estate, w->rri, w->slot))
		elog(ERROR, "ledger_pg: a BEFORE trigger on %s dropped a row", RelationGetRelationName(w->rel));
	if (w->rel->rd_att->constr)
		ExecConstraints(w->rri, w->slot, w->estate);
}

static void
row_insert(Writer *w)
{
	TupleTableSlot *slot = w->slot;
	List	   *recheck = NIL;

	row_prepare(w);
	table_tuple_insert(w->rel, slot, w->estate->es_output_cid, 0, NULL);
	if (w->rri->ri_NumIndices > 0)
		recheck = ExecInsertIndexTuples(w->rri, slot, w->estate, false, false, NULL, NIL);
	ExecARInsertTriggers(w->estate, w->rri, slot, recheck, w->capture);
	list_free(recheck);
}

/*
 * A row inserted unless a committed row holds its key in the arbiter index, as INSERT ... ON
 * CONFLICT DO NOTHING does it (ExecInsert's speculative insertion): a transaction still
 * inserting that key is waited for; when two insert it at once, one wins and the other finds
 * it. Returns false, inserting nothing, when the key is taken.
 */
static bool
row_insert_unless_taken(Writer *w, List *arbiters)
{
	TupleTableSlot *slot = w->slot;
	ItemPointerData conflict;
	List	   *recheck = NIL;

	row_prepare(w);
	for (;;)
	{
		uint32		token;
		bool		taken = false;

		CHECK_FOR_INTERRUPTS();
		if (!ExecCheckIndexConstraints(w->rri, slot, w->estate, &conflict, arbiters))
		{
			/* As ExecCheckTIDVisible: under a transaction snapshot, the row must be in it. */
			if (IsolationUsesXactSnapshot())
			{
				TupleTableSlot *existing = table_slot_create(w->rel, NULL);

				if (!table_tuple_fetch_row_version(w->rel, &conflict, SnapshotAny, existing))
					elog(ERROR, "ledger_pg: the row holding the key is gone");
				if (!table_tuple_satisfies_snapshot(w->rel, existing, GetActiveSnapshot()))
					ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
									errmsg("could not serialize access due to concurrent update")));
				ExecDropSingleTupleTableSlot(existing);
			}
			return false;
		}
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(w->rel, slot, w->estate->es_output_cid, 0, NULL, token);
		recheck = ExecInsertIndexTuples(w->rri, slot, w->estate, false, true, &taken, arbiters);
		table_tuple_complete_speculative(w->rel, slot, token, !taken);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		if (!taken)
			break;
		list_free(recheck);
	}
	ExecARInsertTriggers(w->estate, w->rri, slot, recheck, w->capture);
	list_free(recheck);
	return true;
}

/* The unique index on a table's one column (no expression, no predicate): the arbiter. */
static List *
unique_index_on(Writer *w, const char *column)
{
	AttrNumber	a = attnameAttNum(w->rel, column, false);

	for (int i = 0; i < w->rri->ri_NumIndices; i++)
	{
		Relation	index = w->rri->ri_IndexRelationDescs[i];
		Form_pg_index f = index->rd_index;

		if (f->indisunique && f->indnkeyatts == 1 && f->indkey.values[0] == a &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL))
			return list_make1_oid(RelationGetRelid(index));
	}
	elog(ERROR, "ledger_pg: %s has no unique index on %s", RelationGetRelationName(w->rel), column);
	return NIL;
}

/* The digest's encodings (ledger.transaction_head_encoding, ledger.entry_encoding). */
static void
put_int4(StringInfo s, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfo(s, (const char *) &n, 4);
}

static void
put_int8(StringInfo s, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	appendBinaryStringInfo(s, (const char *) &n, 8);
}

/* audit.field(p): NULL as -1, else the UTF-8 bytes' length and the bytes. */
static void
put_field(StringInfo s, const char *p)
{
	if (p == NULL)
		put_int4(s, -1);
	else
	{
		char	   *utf8 = pg_server_to_any(p, strlen(p), PG_UTF8);
		int			len = strlen(utf8);

		put_int4(s, len);
		appendBinaryStringInfo(s, utf8, len);
	}
}

/* ledger.micros: microseconds since the Unix epoch. */
static int64
unix_micros(TimestampTz t)
{
	return t + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * SHA-256 of data, with a context a caller that hashes many times keeps for its call
 * (hasher; NULL: one made and freed here).
 */
static void
sha256_with(pg_cryptohash_ctx *hasher, const char *data, size_t len, uint8 *out)
{
	pg_cryptohash_ctx *ctx = hasher ? hasher : pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "ledger_pg: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	if (hasher == NULL)
		pg_cryptohash_free(ctx);
}

static void
sha256(const char *data, size_t len, uint8 *out)
{
	sha256_with(NULL, data, len, out);
}

static char *
hex_of(const uint8 *bytes, int len)
{
	char	   *hex = palloc(2 * len + 1);

	hex_encode((const char *) bytes, len, hex);
	hex[2 * len] = '\0';
	return hex;
}

static void
append_json_string_or_null(StringInfo s, const char *p)
{
	if (p == NULL)
		appendStringInfoString(s, "null");
	else
		escape_json(s, p);
}

static Datum
field_of(HeapTupleHeader row, const char *name, bool *isnull)
{
	return GetAttributeByName(row, name, isnull);
}

static char *
text_field(HeapTupleHeader row, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(row, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* character(n)::text: the padding blanks go. */
static char *
without_trailing_blanks(char *s)
{
	size_t		n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

static Datum
int8_array(const int64 *values, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Functions and types found by name once per backend, forgotten whenever pg_proc or pg_type
 * changes (a migration that drops and creates one gives it a new OID).
 */
static Oid	current_operator_fn = InvalidOid;
static Oid	max_request_bytes_fn = InvalidOid;
static FmgrInfo max_request_bytes_info;
static MemoryContext names_context = NULL;
static Oid	normalized_type = InvalidOid;

static void
forget_names(Datum arg, int cacheid, uint32 hashvalue)
{
	current_operator_fn = InvalidOid;
	max_request_bytes_fn = InvalidOid;
	normalized_type = InvalidOid;
}

static Oid
function_named(const char *signature)
{
	if (names_context == NULL)
	{
		names_context = AllocSetContextCreate(TopMemoryContext, "ledger_pg names", ALLOCSET_SMALL_SIZES);
		CacheRegisterSyscacheCallback(PROCOID, forget_names, (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, forget_names, (Datum) 0);
	}
	return DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum(signature)));
}

/* audit.current_operator(), through the function manager (its SET clause applies). */
static char *
current_operator(void)
{
	if (!OidIsValid(current_operator_fn))
		current_operator_fn = function_named("audit.current_operator()");
	return TextDatumGetCString(OidFunctionCall0(current_operator_fn));
}

/* host(inet_client_addr()), or NULL on a Unix socket. */
static char *
client_address(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		addr;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	addr = inet_client_addr(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return TextDatumGetCString(DirectFunctionCall1(network_host, addr));
}

/*
 * The heads a locking statement returned (SPI_tuptable): account_id, last_seq, balance and
 * last_recorded_at first, then (with_accounts) code, currency, debit and allow_negative.
 */
static Head *
heads_returned(int *nheads, bool with_accounts)
{
	Head	   *heads = palloc0(sizeof(Head) * Max(SPI_processed, 1));
	bool		isnull;

	*nheads = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		Head	   *h = &heads[(*nheads)++];

		h->account_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		h->last_seq = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		h->balance = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
		h->last_recorded_at = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
		if (with_accounts)
		{
			h->code = SPI_getvalue(t, d, 5);
			h->currency = SPI_getvalue(t, d, 6);
			h->debit = DatumGetBool(SPI_getbinval(t, d, 7, &isnull));
			h->allow_negative = DatumGetBool(SPI_getbinval(t, d, 8, &isnull));
		}
	}
	return heads;
}

/*
 * The accounts' heads locked in id order (as every posting path locks them), with what the
 * no-negative rule needs (SPI connected; sorted by account id).
 */
static Head *
lock_heads(Datum account_ids, int *nheads)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1] = {account_ids};

	if (SPI_execute_plan(kept_plan(&plan_lock_heads,
								   "SELECT h.account_id, h.last_seq, h.balance, h.last_recorded_at, a.code, "
								   "a.currency::pg_catalog.text, a.normal_side OPERATOR(pg_catalog.=) 'debit', a.allow_negative "
								   "FROM ledger.account_heads h JOIN ledger.accounts a ON a.id OPERATOR(pg_catalog.=) h.account_id "
								   "WHERE h.account_id OPERATOR(pg_catalog.=) ANY ($1) "
								   "ORDER BY h.account_id FOR UPDATE OF h",
								   1, types),
						 values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: locking the account heads failed");
	return heads_returned(nheads, true);
}

/*
 * lock_heads for many accounts (a batch): the heads alone locked, in id order, through
 * IN (SELECT unnest($1)) (a nested loop of index scans), then their accounts read. A batch
 * waits for the heads other batches hold and checks again each row it finds moved when the
 * holder commits; with "= ANY ($1)" (a bitmap heap scan) eight batches of 1,000 at once
 * waited 1.6 s each for their locks and posted 3,300/s, with this statement 7,000/s (0017's
 * statement, of the same shape: 5,000/s).
 */
static SPIPlanPtr plan_lock_heads_only = NULL;
static SPIPlanPtr plan_head_accounts = NULL;

static Head *
lock_many_heads(Datum account_ids, int *nheads)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1] = {account_ids};
	Head	   *heads;
	bool		isnull;
	int			j = 0;

	if (SPI_execute_plan(kept_plan(&plan_lock_heads_only,
								   "SELECT h.account_id, h.last_seq, h.balance, h.last_recorded_at "
								   "FROM ledger.account_heads h WHERE h.account_id IN (SELECT pg_catalog.unnest($1)) "
								   "ORDER BY h.account_id FOR UPDATE",
								   1, types),
						 values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: locking the account heads failed");
	heads = heads_returned(nheads, false);
	if (SPI_execute_plan(kept_plan(&plan_head_accounts,
								   "SELECT a.id, a.code, a.currency::pg_catalog.text, "
								   "a.normal_side OPERATOR(pg_catalog.=) 'debit', a.allow_negative "
								   "FROM ledger.accounts a WHERE a.id OPERATOR(pg_catalog.=) ANY ($1) ORDER BY a.id",
								   1, types),
						 values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the heads' accounts failed");
	for (uint64 i = 0; i < SPI_processed && j < *nheads; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		int64		id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));

		while (j < *nheads && heads[j].account_id < id)
			j++;
		if (j < *nheads && heads[j].account_id == id)
		{
			heads[j].code = SPI_getvalue(t, d, 2);
			heads[j].currency = SPI_getvalue(t, d, 3);
			heads[j].debit = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
			heads[j].allow_negative = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
		}
	}
	for (int h = 0; h < *nheads; h++)
		if (heads[h].code == NULL)
			elog(ERROR, "ledger_pg: account " INT64_FORMAT " has a head but no account", heads[h].account_id);
	return heads;
}

/* The heads that legs moved, written back in one statement (their guard trigger fires). */
static void
move_heads(const Head *heads, int nheads, TimestampTz recorded_at)
{
	Oid			types[4] = {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[4];
	int64	   *ids = palloc(sizeof(int64) * Max(nheads, 1));
	int64	   *seqs = palloc(sizeof(int64) * Max(nheads, 1));
	int64	   *balances = palloc(sizeof(int64) * Max(nheads, 1));
	int			moved = 0;

	for (int i = 0; i < nheads; i++)
		if (heads[i].moved_legs > 0)
		{
			ids[moved] = heads[i].account_id;
			seqs[moved] = heads[i].last_seq;
			balances[moved] = heads[i].balance;
			moved++;
		}
	values[0] = int8_array(ids, moved);
	values[1] = int8_array(seqs, moved);
	values[2] = int8_array(balances, moved);
	values[3] = TimestampTzGetDatum(recorded_at);
	if (SPI_execute_plan(kept_plan(&plan_move_heads,
								   "UPDATE ledger.account_heads h SET last_seq = u.last_seq, balance = u.balance, "
								   "last_recorded_at = $4 "
								   "FROM unnest($1, $2, $3) AS u(account_id, last_seq, balance) "
								   "WHERE h.account_id OPERATOR(pg_catalog.=) u.account_id",
								   4, types),
						 values, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != (uint64) moved)
		elog(ERROR, "ledger_pg: moving the account heads failed");
}

/*
 * The request's fingerprint: sha256 of jsonb_build_object('kind', p_kind, 'reverses',
 * p_reverses, 'request', canonical)::text in UTF-8. jsonb prints an object's keys shortest
 * first, then bytewise: kind, request, reverses.
 */
static bytea *
request_fingerprint_of(pg_cryptohash_ctx *hasher, const char *kind, const char *canonical, bool has_reverses,
					   int64 reverses)
{
	StringInfoData buf;
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	char	   *utf8;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"kind\": ");
	append_json_string_or_null(&buf, kind);
	appendStringInfoString(&buf, ", \"request\": ");
	appendStringInfoString(&buf, canonical == NULL ? "null" : canonical);
	appendStringInfoString(&buf, ", \"reverses\": ");
	if (has_reverses)
		appendStringInfo(&buf, INT64_FORMAT, reverses);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoChar(&buf, '}');
	utf8 = pg_server_to_any(buf.data, buf.len, PG_UTF8);
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	sha256_with(hasher, utf8, strlen(utf8), (uint8 *) VARDATA(hash));
	return hash;
}

static bytea *
request_fingerprint(const char *kind, Jsonb *canonical, bool has_reverses, int64 reverses)
{
	return request_fingerprint_of(NULL, kind, canonical == NULL ? NULL
								  : JsonbToCString(NULL, &canonical->root, VARSIZE(canonical)),
								  has_reverses, reverses);
}

/* ledger.transaction_head_encoding of the row as written: the digest's first part. */
static void
digest_head(StringInfo enc, int64 id, const char *key, const bytea *request_hash, const char *kind,
			TimestampTz effective_at, TimestampTz recorded_at, bool has_reverses, int64 reverses,
			const char *description, const char *external_ref, const char *operator_name,
			const char *session_role, int nlegs)
{
	appendStringInfoString(enc, "ledger-tx-v1");
	put_int8(enc, id);
	put_field(enc, key);
	appendBinaryStringInfo(enc, VARDATA(request_hash), PG_SHA256_DIGEST_LENGTH);
	put_field(enc, kind);
	put_int8(enc, unix_micros(effective_at));
	put_int8(enc, unix_micros(recorded_at));
	put_int8(enc, has_reverses ? reverses : 0);
	put_field(enc, description);
	put_field(enc, external_ref);
	put_field(enc, operator_name);
	put_field(enc, session_role);
	put_int4(enc, nlegs);
}

/* ledger.entry_encoding of an entry as stored (currency as text: no padding). */
static void
digest_entry(StringInfo enc, int64 id, int64 account, int64 amount, const char *currency,
			 TimestampTz effective_at, TimestampTz recorded_at, int64 seq, int64 balance)
{
	put_int8(enc, id);
	put_int8(enc, account);
	put_int8(enc, amount);
	put_field(enc, currency);
	put_int8(enc, unix_micros(effective_at));
	put_int8(enc, unix_micros(recorded_at));
	put_int8(enc, seq);
	put_int8(enc, balance);
}

/* The transaction.posted event's details, as audit.record gives them (0030, 0060). */
static Datum
posted_details(const char *key, const char *kind, bool has_reverses, int64 reverses, int nlegs,
			   const uint8 *digest)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"idempotency_key\": ");
	escape_json(&buf, key);
	appendStringInfoString(&buf, ", \"kind\": ");
	append_json_string_or_null(&buf, kind);
	appendStringInfoString(&buf, ", \"reverses\": ");
	if (has_reverses)
		appendStringInfo(&buf, INT64_FORMAT, reverses);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"legs\": %d, \"digest\": \"%s\"}", nlegs,
					 hex_of(digest, PG_SHA256_DIGEST_LENGTH));
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* An event's client_info, as audit.record gives it: application, address, backend pid. */
static Datum
client_info(void)
{
	StringInfoData buf;
	const char *app = GetConfigOption("application_name", true, false);
	char	   *address = client_address();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"backend_pid\": %d", MyProcPid);
	if (app != NULL && app[0] != '\0')
	{
		appendStringInfoString(&buf, ", \"application\": ");
		escape_json(&buf, app);
	}
	if (address != NULL)
	{
		appendStringInfoString(&buf, ", \"address\": ");
		escape_json(&buf, address);
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * Transactions of the current top-level transaction whose entries post_normalized wrote and
 * found whole as it wrote them: at least two legs, each in its account's currency, balanced
 * per currency. ledger.check_transaction_balanced, at commit, takes these as checked instead
 * of reading their entries back (nothing but the owner's functions writes entries, and none
 * adds entries to a transaction it did not create). One it did not find whole is left to the
 * trigger, which refuses it with its own message.
 */
static TransactionId verified_xid = InvalidTransactionId;
/*
 * Entries written by any other statement (the owner's own INSERT, a batch, COPY: the spans
 * trigger sees every one) void every such verdict of the transaction: the trigger reads them
 * all back, as before.
 */
static TransactionId foreign_entries_xid = InvalidTransactionId;
static bool writing_own_entries = false;
static int64 *verified = NULL;	/* ascending: ids come from one sequence, in order */
static int	nverified = 0;
static int	verified_capacity = 0;
static bool verified_callback = false;

static void
forget_verified(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		verified_xid = InvalidTransactionId;
		foreign_entries_xid = InvalidTransactionId;
		nverified = 0;
		writing_own_entries = false;
	}
}

static void
remember_verified(int64 transaction_id)
{
	TransactionId top = GetTopTransactionId();

	if (!verified_callback)
	{
		RegisterXactCallback(forget_verified, NULL);
		verified_callback = true;
	}
	if (verified_xid != top)
	{
		verified_xid = top;
		nverified = 0;
	}
	/* Out of order (cannot be: ids are taken in order) is left to the trigger. */
	if (nverified > 0 && transaction_id <= verified[nverified - 1])
		return;
	if (nverified == verified_capacity)
	{
		int			capacity = Max(64, 2 * verified_capacity);

		verified = verified == NULL ? MemoryContextAlloc(TopMemoryContext, sizeof(int64) * capacity)
			: repalloc(verified, sizeof(int64) * capacity);
		verified_capacity = capacity;
	}
	verified[nverified++] = transaction_id;
}

static int
int64_order(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

static bool
was_verified(int64 transaction_id)
{
	TransactionId top = GetTopTransactionIdIfAny();

	if (!TransactionIdIsValid(top) || top != verified_xid || top == foreign_entries_xid)
		return false;
	return nverified > 0 && bsearch(&transaction_id, verified, nverified, sizeof(int64), int64_order) != NULL;
}

/*
 * The posting: r is a ledger.normalized_request (NULL: no legs). Sets the transaction's id and
 * whether this call created it (false: the same request under the same key, earlier).
 */
static void
post_normalized(char *key, HeapTupleHeader r, char *kind, bool has_reverses, int64 reverses,
				int64 *id_out, bool *created_out)
{
	bool		isnull;
	TimestampTz effective_at;
	bool		effective_null;
	char	   *description, *external_ref;
	Datum		account_ids_d, amounts_d, currencies_d, canonical_d;
	bool		canonical_null;
	Datum	   *e_accounts, *e_amounts, *e_currencies;
	bool	   *n_accounts, *n_amounts, *n_currencies;
	int			nlegs, namounts, ncurrencies;
	char	   *operator_name;
	const char *session_role;
	bytea	   *request_hash_b;
	Head	   *heads;
	int			nheads = 0;
	TimestampTz recorded_at;
	int64		transaction_id;
	int64	   *leg_seq, *leg_balance;
	bool		whole;
	EState	   *estate;
	Writer		transactions, entries, events;

	let_go_of_stale_planned();
	if (r == NULL)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')), errmsg("A transaction needs at least two legs")));

	effective_at = DatumGetTimestampTz(field_of(r, "effective_at", &effective_null));
	description = text_field(r, "description");
	external_ref = text_field(r, "external_ref");
	account_ids_d = field_of(r, "account_ids", &isnull);
	if (isnull)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')), errmsg("A transaction needs at least two legs")));
	amounts_d = field_of(r, "amounts", &isnull);
	if (isnull)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')), errmsg("A transaction needs at least two legs")));
	currencies_d = field_of(r, "currencies", &isnull);
	if (isnull)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')), errmsg("A transaction needs at least two legs")));
	canonical_d = field_of(r, "canonical", &canonical_null);

	/* The checks of 0060, in its order. */
	if (external_ref != NULL && pg_mbstrlen(external_ref) > 200)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '7')),
						errmsg("external_ref is longer than 200 characters")));
	if (key == NULL || pg_mbstrlen(key) < 1 || pg_mbstrlen(key) > 200)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '0')),
						errmsg("An idempotency key of 1 to 200 characters is required")));
	if (kind != NULL && strcmp(kind, "posting") == 0 &&
		(strncmp(key, "reversal:", 9) == 0 || strncmp(key, "rebook:", 7) == 0 || strncmp(key, "event:", 6) == 0))
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '0')),
						errmsg("Idempotency key \"%s\" is reserved: keys starting with reversal:, rebook: or event: belong to reversals and ingested events", key),
						errhint("Choose a key outside these prefixes.")));

	deconstruct_array(DatumGetArrayTypeP(account_ids_d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &e_accounts, &n_accounts, &nlegs);
	deconstruct_array(DatumGetArrayTypeP(amounts_d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &e_amounts, &n_amounts, &namounts);
	deconstruct_array(DatumGetArrayTypeP(currencies_d), TEXTOID, -1, false, TYPALIGN_INT,
					  &e_currencies, &n_currencies, &ncurrencies);
	if (nlegs != namounts || nlegs != ncurrencies)
		elog(ERROR, "ledger_pg: a normalized request has %d accounts, %d amounts and %d currencies",
			 nlegs, namounts, ncurrencies);
	for (int i = 0; i < nlegs; i++)
		if (n_accounts[i] || n_amounts[i] || n_currencies[i])
			elog(ERROR, "ledger_pg: leg %d of a normalized request has a NULL", i + 1);

	request_hash_b = request_fingerprint(kind, canonical_null ? NULL : DatumGetJsonbP(canonical_d),
										 has_reverses, reverses);

	operator_name = current_operator();
	session_role = GetUserNameFromId(GetSessionUserId(), false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");

	/*
	 * The accounts' heads locked in id order (as every posting path locks them), with what the
	 * no-negative rule needs; the recorded time, never before an account's last entry.
	 */
	{
		heads = lock_heads(account_ids_d, &nheads);
		recorded_at = GetCurrentTimestamp();
		for (int i = 0; i < nheads; i++)
			if (heads[i].last_recorded_at > recorded_at)
				recorded_at = heads[i].last_recorded_at;
	}

	/*
	 * The key: new, or (committed by another transaction, which this insert waits for if it is
	 * still in progress) the same request again, or a different one.
	 */
	{
		Oid			relids[3] = {table_oid("ledger", "transactions"), table_oid("ledger", "entries"),
		table_oid("audit", "events")};
		List	   *rtable = NIL;

		estate = CreateExecutorState();
		for (int i = 0; i < 3; i++)
		{
			RangeTblEntry *rte = makeNode(RangeTblEntry);

			rte->rtekind = RTE_RELATION;
			rte->relid = relids[i];
			rte->relkind = RELKIND_RELATION;
			rte->rellockmode = RowExclusiveLock;
			rtable = lappend(rtable, rte);
		}
		ExecInitRangeTable(estate, rtable);
		writer_open(&transactions, estate, relids[0], 1, true);
		writer_open(&entries, estate, relids[1], 2, false);
		writer_open(&events, estate, relids[2], 3, false);
	}
	{
		bool		inserted;

		transaction_id = nextval_internal(transactions.id_sequence, false);
		statement_begin(&transactions);
		row_begin(&transactions);
		row_set(&transactions, "id", Int64GetDatum(transaction_id), false);
		row_set(&transactions, "idempotency_key", CStringGetTextDatum(key), false);
		row_set(&transactions, "request_hash", PointerGetDatum(request_hash_b), false);
		row_set(&transactions, "kind", kind ? CStringGetTextDatum(kind) : (Datum) 0, kind == NULL);
		row_set(&transactions, "effective_at", TimestampTzGetDatum(effective_at), effective_null);
		row_set(&transactions, "recorded_at", TimestampTzGetDatum(recorded_at), false);
		row_set(&transactions, "description", description ? CStringGetTextDatum(description) : (Datum) 0,
				description == NULL);
		row_set(&transactions, "external_ref", external_ref ? CStringGetTextDatum(external_ref) : (Datum) 0,
				external_ref == NULL);
		row_set(&transactions, "reverses", Int64GetDatum(reverses), !has_reverses);
		row_set(&transactions, "created_by", CStringGetTextDatum(operator_name), false);
		row_set(&transactions, "created_role", CStringGetTextDatum(session_role), false);
		inserted = row_insert_unless_taken(&transactions, unique_index_on(&transactions, "idempotency_key"));
		statement_end(&transactions);
		if (!inserted)
		{
			Oid			ktypes[1] = {TEXTOID};
			Datum		kvalues[1] = {CStringGetTextDatum(key)};
			int64		existing;
			bytea	   *existing_hash;

			if (SPI_execute_plan(kept_plan(&plan_existing,
										   "SELECT t.id, t.request_hash FROM ledger.transactions t "
										   "WHERE t.idempotency_key OPERATOR(pg_catalog.=) $1",
										   1, ktypes),
								 kvalues, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "ledger_pg: the transaction of key \"%s\" is not there", key);
			existing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			existing_hash = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			if (VARSIZE_ANY_EXHDR(existing_hash) == PG_SHA256_DIGEST_LENGTH &&
				memcmp(VARDATA_ANY(existing_hash), VARDATA(request_hash_b), PG_SHA256_DIGEST_LENGTH) == 0)
			{
				writer_close(&transactions);
				writer_close(&entries);
				writer_close(&events);
				ExecResetTupleTable(estate->es_tupleTable, false);
				FreeExecutorState(estate);
				SPI_finish();
				*id_out = existing;
				*created_out = false;
				return;
			}
			ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '1')),
							errmsg("Idempotency key \"%s\" was already used for a different request (transaction " INT64_FORMAT ")",
								   key, existing),
							errhint("Use a new key for a new transaction; resend the same request to get the original back.")));
		}
	}

	/*
	 * Each leg's sequence number and running balance on its account, in leg order; and whether
	 * the legs are whole (what check_transaction_balanced would find at commit).
	 */
	leg_seq = palloc(sizeof(int64) * Max(nlegs, 1));
	leg_balance = palloc(sizeof(int64) * Max(nlegs, 1));
	whole = nlegs >= 2;
	for (int i = 0; i < nlegs; i++)
	{
		int64		account = DatumGetInt64(e_accounts[i]);
		int64		sum = 0;
		char	   *currency = TextDatumGetCString(e_currencies[i]);
		Head	   *h = NULL;

		for (int j = 0; j < nlegs; j++)
			if (strcmp(TextDatumGetCString(e_currencies[j]), currency) == 0)
				sum += DatumGetInt64(e_amounts[j]);
		if (sum != 0)
			whole = false;

		for (int j = 0; j < nheads; j++)
			if (heads[j].account_id == account)
				h = &heads[j];
		if (h == NULL)
			ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '8')),
							errmsg("No account with id " INT64_FORMAT, account)));
		if (strcmp(without_trailing_blanks(pstrdup(h->currency)), without_trailing_blanks(currency)) != 0)
			whole = false;
		h->last_seq += 1;
		h->moved_legs += 1;
		if (pg_add_s64_overflow(h->balance, DatumGetInt64(e_amounts[i]), &h->balance))
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("bigint out of range")));
		leg_seq[i] = h->last_seq;
		leg_balance[i] = h->balance;
	}

	/* Heads moved: the accounts the legs are on (their guard trigger fires). */
	move_heads(heads, nheads, recorded_at);

	/* No account the legs left below zero that may not go there (the first by id). */
	for (int i = 0; i < nheads; i++)
	{
		Head	   *h = &heads[i];
		int64		shown = h->debit ? h->balance : -h->balance;

		if (h->moved_legs > 0 && !h->allow_negative && shown < 0)
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		values[2] = {Int64GetDatum(shown), CStringGetTextDatum(h->currency)};
			char	   *formatted = "?";

			if (SPI_execute_plan(kept_plan(&plan_format_amount, "SELECT ledger.format_amount($1, $2)", 2, types),
								 values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
				formatted = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			ereport(ERROR, (errcode(LG_SQLSTATE('0', '2', '0')),
							errmsg("Account %s may not go negative: this would leave it at %s %s",
								   h->code, formatted, h->currency),
							errhint("Nothing was posted.")));
		}
	}

	/* The entries, then the event with the digest of the rows as written. */
	{
		StringInfoData enc;
		uint8		digest[PG_SHA256_DIGEST_LENGTH];
		initStringInfo(&enc);
		digest_head(&enc, transaction_id, key, request_hash_b, kind, effective_at, recorded_at, has_reverses,
					reverses, description, external_ref, operator_name, session_role, nlegs);

		writing_own_entries = true;
		PG_TRY();
		{
		statement_begin(&entries);
		for (int i = 0; i < nlegs; i++)
		{
			int64		id = nextval_internal(entries.id_sequence, false);
			char	   *currency = TextDatumGetCString(e_currencies[i]);
			Datum		currency_b = DirectFunctionCall3(bpcharin, CStringGetDatum(currency),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(3 + VARHDRSZ));

			row_begin(&entries);
			row_set(&entries, "id", Int64GetDatum(id), false);
			row_set(&entries, "transaction_id", Int64GetDatum(transaction_id), false);
			row_set(&entries, "account_id", e_accounts[i], false);
			row_set(&entries, "amount", e_amounts[i], false);
			row_set(&entries, "currency", currency_b, false);
			row_set(&entries, "effective_at", TimestampTzGetDatum(effective_at), effective_null);
			row_set(&entries, "recorded_at", TimestampTzGetDatum(recorded_at), false);
			row_set(&entries, "account_seq", Int64GetDatum(leg_seq[i]), false);
			row_set(&entries, "balance_after", Int64GetDatum(leg_balance[i]), false);
			row_insert(&entries);

			digest_entry(&enc, id, DatumGetInt64(e_accounts[i]), DatumGetInt64(e_amounts[i]),
						 without_trailing_blanks(TextDatumGetCString(currency_b)), effective_at, recorded_at,
						 leg_seq[i], leg_balance[i]);
		}
		statement_end(&entries);
		}
		PG_FINALLY();
		{
			writing_own_entries = false;
		}
		PG_END_TRY();

		sha256(enc.data, enc.len, digest);

		statement_begin(&events);
		row_begin(&events);
		row_set(&events, "id", Int64GetDatum(nextval_internal(events.id_sequence, false)), false);
		row_set(&events, "occurred_at", TimestampTzGetDatum(GetCurrentTimestamp()), false);
		row_set(&events, "operator", CStringGetTextDatum(operator_name), false);
		row_set(&events, "session_role", CStringGetTextDatum(session_role), false);
		row_set(&events, "action", CStringGetTextDatum("transaction.posted"), false);
		row_set(&events, "object_type", CStringGetTextDatum("transaction"), false);
		row_set(&events, "object_id", CStringGetTextDatum(psprintf(INT64_FORMAT, transaction_id)), false);
		row_set(&events, "details", posted_details(key, kind, has_reverses, reverses, nlegs, digest), false);
		row_set(&events, "client_info", client_info(), false);
		row_insert(&events);
		statement_end(&events);

		writer_close(&transactions);
		writer_close(&entries);
		writer_close(&events);
		ExecResetTupleTable(estate->es_tupleTable, false);
		FreeExecutorState(estate);
	}

	SPI_finish();
	if (whole)
		remember_verified(transaction_id);
	*id_out = transaction_id;
	*created_out = true;
}

/* (transaction_id bigint, created boolean), as the function's OUT parameters say. */
static Datum
posted_record(FunctionCallInfo fcinfo, int64 id, bool created)
{
	TupleDesc	desc;
	Datum		values[2] = {Int64GetDatum(id), BoolGetDatum(created)};
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE || desc->natts != 2)
		elog(ERROR, "ledger_pg: a posting function must return (transaction_id, created)");
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/* ledger.post_normalized(p_key, r, p_kind, p_reverses) (0061). */
PG_FUNCTION_INFO_V1(ledger_post_normalized);
Datum
ledger_post_normalized(PG_FUNCTION_ARGS)
{
	int64		id;
	bool		created;

	post_normalized(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)),
					PG_ARGISNULL(1) ? NULL : PG_GETARG_HEAPTUPLEHEADER(1),
					PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
					!PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3), &id, &created);
	PG_RETURN_DATUM(posted_record(fcinfo, id, created));
}


/*
 * ledger.normalize_request(p_request jsonb) in C (0062): 0055's PL/pgSQL, which stays as
 * ledger.normalize_request_reference, the specification tst_posting compares this with on every
 * good and bad request it has: the same result or the same SQLSTATE and message.
 */

/* p_request->>'key' (NULL when the container is not an object or has no such key). */
static char *
text_of_value(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			elog(ERROR, "ledger_pg: unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

static JsonbValue *
member(JsonbContainer *c, const char *key)
{
	JsonbValue	k;

	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(c, JB_FOBJECT, &k);
}

static char *
member_text(JsonbContainer *c, const char *key)
{
	JsonbValue *v = member(c, key);

	return v == NULL ? NULL : text_of_value(v);
}

/* The container a value holds, if it is an object or an array. */
static JsonbContainer *
container_of(JsonbValue *v)
{
	return (v != NULL && v->type == jbvBinary) ? v->val.binary.data : NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
digits(const char *p, int max)
{
	int			n = 0;

	while (n < max && is_digit(p[n]))
		n++;
	return n;
}

/*
 * ledger.parse_instant: the pattern
 * ^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$
 * then ::timestamptz, NULL where that raises a data exception: the same decoding
 * timestamptz_in does, its errors taken as "not a time".
 */
static bool
instant_pattern(const char *s)
{
	const char *p = s;

	if (digits(p, 4) != 4 || p[4] != '-')
		return false;
	p += 5;
	if (digits(p, 2) != 2 || p[2] != '-')
		return false;
	p += 3;
	if (digits(p, 2) != 2 || (p[2] != 'T' && p[2] != ' '))
		return false;
	p += 3;
	if (digits(p, 2) != 2 || p[2] != ':')
		return false;
	p += 3;
	if (digits(p, 2) != 2)
		return false;
	p += 2;
	if (*p == ':' && digits(p + 1, 2) == 2)
	{
		p += 3;
		if (*p == '.')
		{
			int			n = digits(p + 1, 6);

			if (n >= 1 && !(n == 6 && is_digit(p[7])))
				p += 1 + n;
		}
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return false;
	p++;
	if (digits(p, 2) != 2)
		return false;
	p += 2;
	if (*p == '\0')
		return true;
	if (*p == ':')
		p++;
	return digits(p, 2) == 2 && p[2] == '\0';
}

static bool
parse_instant(const char *s, TimestampTz *out)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf, dtype, tz = 0, dterr;
	fsec_t		fsec;
	struct pg_tm tt;

	if (s == NULL || !instant_pattern(s))
		return false;
	dterr = ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz);
	if (dterr != 0 || dtype != DTK_DATE)
		return false;
	return tm2timestamp(&tt, fsec, &tz, out) == 0;
}

/* ledger.to_minor's pattern: ^[+-]?[0-9]{1,19}(\.[0-9]{1,19})?$ */
static bool
amount_pattern(const char *s, const char **fraction)
{
	const char *p = s;
	int			n;

	*fraction = NULL;
	if (*p == '+' || *p == '-')
		p++;
	n = digits(p, 20);
	if (n < 1 || n > 19)
		return false;
	p += n;
	if (*p == '\0')
		return true;
	if (*p != '.')
		return false;
	n = digits(p + 1, 20);
	if (n < 1 || n > 19 || p[1 + n] != '\0')
		return false;
	*fraction = p + 1;
	return true;
}

static char *
formatted_amount(int64 minor, const char *currency)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(minor), CStringGetTextDatum(currency)};

	if (SPI_execute_plan(kept_plan(&plan_format_amount, "SELECT ledger.format_amount($1, $2)", 2, types),
						 values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ledger_pg: format_amount failed");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Why a request is refused: its SQLSTATE, message and hint. The single path raises it; the
 * batch path (post_batch_items) reports it as the item's outcome and goes on with the rest.
 */
typedef struct Refusal
{
	int			sqlstate;
	char	   *message;
	char	   *hint;
} Refusal;

#define LG_ERR(c) LG_SQLSTATE('0', (c) / 10 + '0', (c) % 10 + '0')

static bool
refuse(Refusal *no, int sqlstate, char *message, char *hint)
{
	no->sqlstate = sqlstate;
	no->message = message;
	no->hint = hint;
	return false;
}

static void
raise_refusal(const Refusal *no)
{
	ereport(ERROR, (errcode(no->sqlstate), errmsg("%s", no->message),
					no->hint ? errhint("%s", no->hint) : 0));
}

/* ledger.to_minor(p_amount, p_currency), the exponent already found (-1: unknown currency). */
static bool
to_minor(const char *amount, const char *currency, int exponent, int64 *out, Refusal *no)
{
	const char *fraction;
	int128		value = 0;
	int			fraction_digits = 0;
	bool		negative;
	const int64 max_minor = INT64CONST(1000000000000000);

	if (exponent < 0)
		return refuse(no, LG_ERR(3), psprintf("Unknown currency \"%s\": use an ISO 4217 code the ledger knows",
											  currency), NULL);
	if (amount == NULL || !amount_pattern(amount, &fraction))
		return refuse(no, LG_ERR(12), psprintf("Amount \"%s\" is not a decimal number like 1234.56",
											   amount ? amount : "null"), NULL);
	if (fraction != NULL)
	{
		int			significant = strlen(fraction);

		while (significant > 0 && fraction[significant - 1] == '0')
			significant--;
		if (significant > exponent)
			return refuse(no, LG_ERR(13), psprintf("Amount %s has more decimals than %s allows (%d)",
												   amount, currency, exponent), NULL);
		fraction_digits = significant;
	}
	negative = amount[0] == '-';
	for (const char *p = amount + (amount[0] == '+' || amount[0] == '-'); is_digit(*p); p++)
		value = value * 10 + (*p - '0');
	for (int i = 0; i < exponent; i++)
		value = value * 10 + (i < fraction_digits ? fraction[i] - '0' : 0);
	if (value > max_minor)
		return refuse(no, LG_ERR(14), psprintf("Amount %s %s is out of range (at most %s in one leg)", amount,
											   currency, formatted_amount(max_minor, currency)), NULL);
	*out = negative ? -(int64) value : (int64) value;
	return true;
}

typedef struct Account
{
	char	   *code;
	int64		id;
	char	   *currency;		/* as stored: character(3) */
	int			exponent;		/* -1: not in ledger.currencies */
} Account;

/* Accounts found by code, sorted by code (bytewise) for the look-ups. */
typedef struct Accounts
{
	Account    *rows;
	int			n;
} Accounts;

static int
account_order(const void *a, const void *b)
{
	return strcmp(((const Account *) a)->code, ((const Account *) b)->code);
}

/* The accounts of these codes, in one statement (SPI connected; rows in SPI's memory). */
static Accounts
accounts_of(Datum *codes, int ncodes)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		args[1];
	Accounts	found;

	args[0] = PointerGetDatum(construct_array(codes, ncodes, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_plan(kept_plan(&plan_accounts,
								   "SELECT a.code, a.id, a.currency, coalesce(c.exponent, -1) "
								   "FROM ledger.accounts a LEFT JOIN ledger.currencies c "
								   "ON c.code OPERATOR(pg_catalog.=) a.currency "
								   "WHERE a.code OPERATOR(pg_catalog.=) ANY ($1)",
								   1, types),
						 args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: looking up the accounts failed");
	found.rows = palloc(sizeof(Account) * Max(SPI_processed, 1));
	found.n = 0;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Account    *a = &found.rows[found.n++];

		a->code = SPI_getvalue(t, d, 1);
		a->id = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		a->currency = SPI_getvalue(t, d, 3);
		a->exponent = DatumGetInt16(SPI_getbinval(t, d, 4, &isnull));
	}
	qsort(found.rows, found.n, sizeof(Account), account_order);
	return found;
}

static Account *
account_named(const Accounts *accounts, const char *code)
{
	Account		key;

	key.code = (char *) code;
	return bsearch(&key, accounts->rows, accounts->n, sizeof(Account), account_order);
}

/*
 * A request as read: the fields, then (request_legs) each leg's account, amount and currency.
 * codes[i] is NULL where leg i names no account.
 */
typedef struct Request
{
	TimestampTz effective_at;
	char	   *description;
	char	   *external_ref;
	JsonbContainer *legs;
	int			nlegs;
	char	  **codes;
	char	  **currencies;
	int64	   *ids;
	int64	   *amounts;
} Request;

/* The request's fields, in 0055's order of checks, up to the legs' accounts. */
static bool
request_read(JsonbContainer *root, Request *q, Refusal *no)
{
	char	   *effective_text;
	JsonbValue *legs_v;
	static TimestampTz earliest = 0, latest = 0;

	if (root == NULL || !JsonContainerIsObject(root))
		return refuse(no, LG_ERR(17), "A transaction must be a JSON object with effective_at, description and legs",
					  NULL);
	effective_text = member_text(root, "effective_at");
	if (effective_text == NULL)
		return refuse(no, LG_ERR(17), "effective_at is missing: give the business time, e.g. \"2026-11-20T15:00:00Z\"",
					  NULL);
	if (!parse_instant(effective_text, &q->effective_at))
		return refuse(no, LG_ERR(17),
					  psprintf("effective_at \"%s\" is not a time like \"2026-11-20T15:00:00Z\"", effective_text),
					  "A time needs its UTC offset: Z, or one like +01:00 as in \"2026-11-20T16:00:00+01:00\". Words such as now or today are not times.");
	if (earliest == 0)
	{
		earliest = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum("1900-01-01 00:00Z"),
														   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
		latest = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum("2200-01-01 00:00Z"),
														 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	if (q->effective_at < earliest || q->effective_at > latest)
		return refuse(no, LG_ERR(17), psprintf("effective_at %s is outside the years 1900 to 2199", effective_text),
					  NULL);
	q->description = member_text(root, "description");
	if (q->description == NULL)
		q->description = "";
	if (pg_mbstrlen(q->description) > 500)
		return refuse(no, LG_ERR(17), "description is longer than 500 characters", NULL);
	q->external_ref = member_text(root, "external_ref");

	legs_v = member(root, "legs");
	q->legs = container_of(legs_v);
	if (q->legs == NULL || !JsonContainerIsArray(q->legs) || JsonContainerIsScalar(q->legs) ||
		JsonContainerSize(q->legs) < 2)
		return refuse(no, LG_ERR(17), "legs must be an array of at least two legs ({\"account\", \"amount\", \"currency\"})",
					  NULL);
	q->nlegs = JsonContainerSize(q->legs);
	if (q->nlegs > 100)
		return refuse(no, LG_ERR(17), "A transaction has at most 100 legs", NULL);

	q->codes = palloc(sizeof(char *) * q->nlegs);
	for (int i = 0; i < q->nlegs; i++)
		q->codes[i] = member_text(container_of(getIthJsonbValueFromContainer(q->legs, i)), "account");
	return true;
}

/* Each leg checked against its account, in leg order; then balanced per currency. */
static bool
request_legs(Request *q, const Accounts *accounts, Refusal *no)
{
	int			nlegs = q->nlegs;

	q->currencies = palloc(sizeof(char *) * nlegs);
	q->ids = palloc(sizeof(int64) * nlegs);
	q->amounts = palloc(sizeof(int64) * nlegs);
	for (int i = 0; i < nlegs; i++)
	{
		JsonbContainer *leg = container_of(getIthJsonbValueFromContainer(q->legs, i));
		char	   *currency_raw = member_text(leg, "currency");
		char	   *currency = NULL;
		char	   *stored;
		Account    *a;

		if (currency_raw != NULL)
			currency = TextDatumGetCString(DirectFunctionCall1Coll(upper, DEFAULT_COLLATION_OID,
																   CStringGetTextDatum(currency_raw)));
		if (q->codes[i] == NULL || currency == NULL || member(leg, "amount") == NULL)
			return refuse(no, LG_ERR(17), psprintf("Leg %d needs account, amount and currency", i + 1), NULL);
		a = account_named(accounts, q->codes[i]);
		if (a == NULL)
			return refuse(no, LG_ERR(18), psprintf("Leg %d: no account with code \"%s\"", i + 1, q->codes[i]), NULL);
		stored = without_trailing_blanks(pstrdup(a->currency));
		if (strcmp(stored, currency) != 0)
			return refuse(no, LG_ERR(15), psprintf("Leg %d: account %s holds %s, not %s", i + 1, q->codes[i],
												   a->currency, currency), NULL);
		if (!to_minor(member_text(leg, "amount"), currency, a->exponent, &q->amounts[i], no))
			return false;
		if (q->amounts[i] == 0)
			return refuse(no, LG_ERR(12), psprintf("Leg %d: amount is zero", i + 1), NULL);
		q->ids[i] = a->id;
		q->currencies[i] = currency;
	}

	/* Balanced per currency before anything is written (the trigger checks again). */
	for (int i = 0; i < nlegs; i++)
	{
		int64		sum = 0;

		for (int j = 0; j < nlegs; j++)
			if (strcmp(q->currencies[j], q->currencies[i]) == 0)
				sum += q->amounts[j];
		if (sum != 0)
			return refuse(no, LG_ERR(16),
						  "The legs do not balance: per currency, debits (positive) must equal credits (negative)",
						  NULL);
	}
	return true;
}

/* The canonical request, the fingerprint's input: what 0055's jsonb_build_object makes. */
static Datum
request_canonical(const Request *q)
{
	StringInfoData canonical;
	struct pg_tm tt;
	fsec_t		fsec;

	if (timestamp2tm(q->effective_at, NULL, &tt, &fsec, NULL, NULL) != 0)
		elog(ERROR, "ledger_pg: effective_at out of range");
	initStringInfo(&canonical);
	appendStringInfo(&canonical, "{\"effective_at\": \"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\", \"description\": ",
					 tt.tm_year, tt.tm_mon, tt.tm_mday, tt.tm_hour, tt.tm_min, tt.tm_sec, (int) fsec);
	escape_json(&canonical, q->description);
	appendStringInfoString(&canonical, ", \"external_ref\": ");
	append_json_string_or_null(&canonical, q->external_ref);
	appendStringInfoString(&canonical, ", \"legs\": [");
	for (int i = 0; i < q->nlegs; i++)
	{
		appendStringInfoString(&canonical, i ? ", {\"account\": " : "{\"account\": ");
		escape_json(&canonical, q->codes[i]);
		appendStringInfo(&canonical, ", \"minor\": " INT64_FORMAT ", \"currency\": ", q->amounts[i]);
		escape_json(&canonical, q->currencies[i]);
		appendStringInfoChar(&canonical, '}');
	}
	appendStringInfoString(&canonical, "]}");
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(canonical.data));
}

/*
 * The canonical request as jsonb prints it (request_canonical's value through jsonb_out):
 * keys shortest first, then bytewise (legs, description, effective_at, external_ref; in a leg
 * minor, account, currency), ", " and ": " between. The batch path fingerprints this text
 * without building the jsonb; tst_postbatch compares its fingerprints with 0017's.
 */
static char *
request_canonical_text(const Request *q)
{
	StringInfoData c;
	struct pg_tm tt;
	fsec_t		fsec;

	if (timestamp2tm(q->effective_at, NULL, &tt, &fsec, NULL, NULL) != 0)
		elog(ERROR, "ledger_pg: effective_at out of range");
	initStringInfo(&c);
	appendStringInfoString(&c, "{\"legs\": [");
	for (int i = 0; i < q->nlegs; i++)
	{
		appendStringInfo(&c, "%s{\"minor\": " INT64_FORMAT ", \"account\": ", i ? ", " : "", q->amounts[i]);
		escape_json(&c, q->codes[i]);
		appendStringInfoString(&c, ", \"currency\": ");
		escape_json(&c, q->currencies[i]);
		appendStringInfoChar(&c, '}');
	}
	appendStringInfoString(&c, "], \"description\": ");
	escape_json(&c, q->description);
	appendStringInfo(&c, ", \"effective_at\": \"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\", \"external_ref\": ",
					 tt.tm_year, tt.tm_mon, tt.tm_mday, tt.tm_hour, tt.tm_min, tt.tm_sec, (int) fsec);
	append_json_string_or_null(&c, q->external_ref);
	appendStringInfoChar(&c, '}');
	return c.data;
}

/* The request read and checked: a ledger.normalized_request of desc's shape. */
static Datum
normalize_request(Jsonb *request, TupleDesc desc)
{
	Request		q;
	Refusal		no;
	Accounts	accounts;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	MemoryContext caller = CurrentMemoryContext;
	HeapTuple	result;
	bool		ok;

	if (desc->natts != 7)
		elog(ERROR, "ledger_pg: ledger.normalized_request has %d columns, not 7", desc->natts);
	if (!request_read(request ? &request->root : NULL, &q, &no))
		raise_refusal(&no);
	{
		Datum	   *code_d = palloc(sizeof(Datum) * q.nlegs);
		int			ncodes = 0;

		for (int i = 0; i < q.nlegs; i++)
			if (q.codes[i] != NULL)
				code_d[ncodes++] = CStringGetTextDatum(q.codes[i]);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "ledger_pg: SPI_connect failed");
		accounts = accounts_of(code_d, ncodes);
	}
	ok = request_legs(&q, &accounts, &no);
	/* The result in the caller's memory: what SPI allocated goes with SPI_finish. */
	MemoryContextSwitchTo(caller);
	if (!ok)
	{
		no.message = pstrdup(no.message);
		SPI_finish();
		raise_refusal(&no);
	}
	{
		Datum	   *id_d = palloc(sizeof(Datum) * q.nlegs);
		Datum	   *amount_d = palloc(sizeof(Datum) * q.nlegs);
		Datum	   *currency_d = palloc(sizeof(Datum) * q.nlegs);

		for (int i = 0; i < q.nlegs; i++)
		{
			id_d[i] = Int64GetDatum(q.ids[i]);
			amount_d[i] = Int64GetDatum(q.amounts[i]);
			currency_d[i] = CStringGetTextDatum(q.currencies[i]);
		}
		values[0] = TimestampTzGetDatum(q.effective_at);
		values[1] = CStringGetTextDatum(q.description);
		values[2] = q.external_ref ? CStringGetTextDatum(q.external_ref) : (Datum) 0;
		nulls[2] = q.external_ref == NULL;
		values[3] = PointerGetDatum(construct_array(id_d, q.nlegs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = PointerGetDatum(construct_array(amount_d, q.nlegs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[5] = PointerGetDatum(construct_array(currency_d, q.nlegs, TEXTOID, -1, false, TYPALIGN_INT));
		values[6] = request_canonical(&q);
	}
	result = heap_form_tuple(desc, values, nulls);
	SPI_finish();
	return HeapTupleGetDatum(result);
}

/* ledger.normalize_request(p_request) (0062). */
PG_FUNCTION_INFO_V1(ledger_normalize_request);
Datum
ledger_normalize_request(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ledger_pg: normalize_request must return ledger.normalized_request");
	PG_RETURN_DATUM(normalize_request(PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0), BlessTupleDesc(desc)));
}

/*
 * ledger.post_request(p_request) and ledger.post_transaction(p_request) (0064): 0055's and
 * 0024's PL/pgSQL, the size check, then normalize_request and post_normalized called here
 * rather than through a statement.
 */
static void
post_request(FunctionCallInfo fcinfo, int64 *id, bool *created)
{
	Jsonb	   *request = NULL;
	char	   *key = NULL;
	TupleDesc	desc;
	Datum		normalized;
	int64		limit;

	if (!OidIsValid(max_request_bytes_fn) || !OidIsValid(normalized_type))
	{
		/* The SQL function's cached plan lives in names_context: what an earlier one left goes. */
		max_request_bytes_fn = function_named("ledger.max_request_bytes()");
		MemoryContextReset(names_context);
		fmgr_info_cxt(max_request_bytes_fn, &max_request_bytes_info, names_context);
		normalized_type = DatumGetObjectId(DirectFunctionCall1(regtypein,
															   CStringGetDatum("ledger.normalized_request")));
	}
	limit = DatumGetInt32(FunctionCall0Coll(&max_request_bytes_info, InvalidOid));
	if (!PG_ARGISNULL(0))
	{
		/* pg_column_size(p_request): the size as passed, compressed or not. */
		if ((int64) toast_datum_size(PG_GETARG_DATUM(0)) > limit)
			ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '7')),
							errmsg("A transaction request is at most " INT64_FORMAT " bytes of JSON", limit)));
		request = PG_GETARG_JSONB_P(0);
		if (JB_ROOT_IS_OBJECT(request))
			key = member_text(&request->root, "idempotency_key");
	}
	desc = lookup_rowtype_tupdesc(normalized_type, -1);
	normalized = normalize_request(request, desc);
	ReleaseTupleDesc(desc);
	post_normalized(key, DatumGetHeapTupleHeader(normalized), "posting", false, 0, id, created);
}

PG_FUNCTION_INFO_V1(ledger_post_request);
Datum
ledger_post_request(PG_FUNCTION_ARGS)
{
	int64		id;
	bool		created;

	post_request(fcinfo, &id, &created);
	PG_RETURN_DATUM(posted_record(fcinfo, id, created));
}

PG_FUNCTION_INFO_V1(ledger_post_transaction);
Datum
ledger_post_transaction(PG_FUNCTION_ARGS)
{
	int64		id;
	bool		created;

	post_request(fcinfo, &id, &created);
	PG_RETURN_INT64(id);
}

/*
 * The triggers a posting fires, and audit.current_operator, in C (0063): what their PL/pgSQL
 * (0010, 0013, 0017, 0018, 0019, 0023, 0060) did, statement for statement, through kept plans.
 * A trigger function's cost was mostly PL/pgSQL's own: entry, exit and each statement's way
 * through it, about a sixth of a posting's server time in all.
 */

static TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "ledger_pg: %s must be called as a trigger", name);
	return (TriggerData *) fcinfo->context;
}

static const char *
trigger_operation(TriggerData *td)
{
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		return "INSERT";
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return "UPDATE";
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		return "DELETE";
	return "TRUNCATE";
}

/* A bigint column of the row a row trigger fired for. */
static int64
row_bigint(TriggerData *td, const char *column)
{
	bool		isnull;
	Datum		d = heap_getattr(td->tg_trigtuple, attnameAttNum(td->tg_relation, column, false),
								 RelationGetDescr(td->tg_relation), &isnull);

	if (isnull)
		elog(ERROR, "ledger_pg: %s.%s is NULL", RelationGetRelationName(td->tg_relation), column);
	return DatumGetInt64(d);
}

/* ledger.guard_heads (0017): only the posting functions (running as the owner) move a head. */
PG_FUNCTION_INFO_V1(ledger_guard_heads);
Datum
ledger_guard_heads(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "guard_heads");

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		strcmp(GetUserNameFromId(GetUserId(), false), "ledger_owner") == 0)
		return PointerGetDatum(td->tg_newtuple);
	ereport(ERROR, (errcode(LG_SQLSTATE('0', '0', '1')),
					errmsg("%s on ledger.account_heads is not allowed outside the posting functions",
						   trigger_operation(td))));
	PG_RETURN_NULL();
}

/* ledger.check_transaction_balanced (0017): at commit, every transaction's entries. */
static SPIPlanPtr plan_balanced = NULL;

PG_FUNCTION_INFO_V1(ledger_check_transaction_balanced);
Datum
ledger_check_transaction_balanced(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "check_transaction_balanced");
	int64		id = row_bigint(td, "id");
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	if (was_verified(id))
		return PointerGetDatum(NULL);	/* found whole by post_normalized as it wrote it */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");
	if (SPI_execute_plan(kept_plan(&plan_balanced,
								   "SELECT coalesce(pg_catalog.sum(s.n), 0) AS legs, "
								   "coalesce(pg_catalog.sum(s.n), 0) OPERATOR(pg_catalog.<) 2, "
								   "pg_catalog.min(s.currency) FILTER (WHERE s.foreign_account) AS foreign_currency, "
								   "pg_catalog.min(s.currency) FILTER (WHERE s.total OPERATOR(pg_catalog.<>) 0) AS unbalanced "
								   "FROM (SELECT e.currency, pg_catalog.count(*) AS n, pg_catalog.sum(e.amount) AS total, "
								   "             pg_catalog.bool_or((SELECT a.currency FROM ledger.accounts a "
								   "                                 WHERE a.id OPERATOR(pg_catalog.=) e.account_id) "
								   "                                OPERATOR(pg_catalog.<>) e.currency) AS foreign_account "
								   "      FROM ledger.entries e WHERE e.transaction_id OPERATOR(pg_catalog.=) $1 "
								   "      GROUP BY e.currency) s",
								   1, types),
						 values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ledger_pg: reading transaction " INT64_FORMAT "'s entries failed", id);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	if (DatumGetBool(SPI_getbinval(t, d, 2, &isnull)))
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')),
						errmsg("Transaction " INT64_FORMAT " has %s leg(s); a transaction needs at least two",
							   id, SPI_getvalue(t, d, 1))));
	(void) SPI_getbinval(t, d, 3, &isnull);
	if (!isnull)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '5')),
						errmsg("Transaction " INT64_FORMAT " has a %s leg on an account in another currency",
							   id, SPI_getvalue(t, d, 3))));
	(void) SPI_getbinval(t, d, 4, &isnull);
	if (!isnull)
		ereport(ERROR, (errcode(LG_SQLSTATE('0', '1', '6')),
						errmsg("Transaction " INT64_FORMAT " does not balance in %s (debits must equal credits)",
							   id, SPI_getvalue(t, d, 4))));
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * ledger.entries_add_spans (0018): the spans of late and future-dated entries, from the
 * statement's transition table; the test on each new entry without SQL.
 */
PG_FUNCTION_INFO_V1(ledger_entries_add_spans);
Datum
ledger_entries_add_spans(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "entries_add_spans");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	AttrNumber	effective = attnameAttNum(td->tg_relation, "effective_at", false);
	AttrNumber	recorded = attnameAttNum(td->tg_relation, "recorded_at", false);
	TupleTableSlot *slot;
	bool		spans = false;
	const int64 five_minutes = INT64CONST(5) * USECS_PER_MINUTE;

	if (td->tg_newtable == NULL)
		elog(ERROR, "ledger_pg: entries_add_spans needs the new entries' transition table");
	if (!writing_own_entries)
		foreign_entries_xid = GetTopTransactionId();
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(td->tg_newtable);
	while (!spans && tuplestore_gettupleslot(td->tg_newtable, true, false, slot))
	{
		bool		n1, n2;
		TimestampTz e = DatumGetTimestampTz(slot_getattr(slot, effective, &n1));
		TimestampTz r = DatumGetTimestampTz(slot_getattr(slot, recorded, &n2));

		/* recorded_at - effective_at > interval '5 minutes' OR effective_at > recorded_at */
		if (!n1 && !n2 && (r - e > five_minutes || e > r))
			spans = true;
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_rescan(td->tg_newtable);
	if (spans)
	{
		char	   *sql;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "ledger_pg: SPI_connect failed");
		if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
			elog(ERROR, "ledger_pg: cannot register the transition table");
		if (SPI_execute("SELECT ledger.span_upsert_sql('new_entries')", true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "ledger_pg: ledger.span_upsert_sql failed");
		sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (SPI_execute(sql, false, 0) < 0)
			elog(ERROR, "ledger_pg: adding the spans failed");
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}

/*
 * audit.announce_events (0019, 0023): before a transaction's first event, its share of the
 * events sequence's lock and its announcement, which the sealer's floor reads.
 */
static SPIPlanPtr plan_announced = NULL;
static SPIPlanPtr plan_announce_lock = NULL;
static SPIPlanPtr plan_announce = NULL;

PG_FUNCTION_INFO_V1(audit_announce_events);
Datum
audit_announce_events(PG_FUNCTION_ARGS)
{
	(void) trigger_data(fcinfo, "announce_events");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");
	if (SPI_execute_plan(kept_plan(&plan_announced,
								   "SELECT 1 FROM audit.announcements a "
								   "WHERE a.backend_pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() "
								   "AND a.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()",
								   0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the announcements failed");
	if (SPI_processed == 0)
	{
		if (SPI_execute_plan(kept_plan(&plan_announce_lock,
									   "SELECT pg_catalog.pg_advisory_xact_lock_shared(s.last_value) "
									   "FROM audit.events_id_seq s",
									   0, NULL),
							 NULL, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: taking the events sequence's lock failed");
		if (SPI_execute_plan(kept_plan(&plan_announce,
									   "INSERT INTO audit.announcements (backend_pid, xact) "
									   "VALUES (pg_catalog.pg_backend_pid(), pg_catalog.pg_current_xact_id()) "
									   "ON CONFLICT (backend_pid) DO UPDATE SET xact = EXCLUDED.xact",
									   0, NULL),
							 NULL, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "ledger_pg: the announcement failed");
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * audit.seal_at_commit (0019, 0060): at commit, seal the chain from the floor unless the last
 * seal is younger than seal_every, an earlier event of this transaction sealed it, the
 * transaction is not READ COMMITTED, or another holds the chain.
 */
/*
 * The events audit.seal_from sealed in this transaction: ids from sealed_from to sealed_max.
 * A commit's seal takes in every event of its transaction (they are all visible to it, and
 * ids are taken in order: events_id_seq caches one), so the triggers of its other events,
 * which would each find "sealed lately" or "already sealed" and do nothing, do nothing at
 * once. Forgotten when the transaction ends or any subtransaction rolls back (a seal undone).
 */
static TransactionId sealed_xid = InvalidTransactionId;
static int64 sealed_from = 0;
static int64 sealed_max = 0;
static bool sealed_callbacks = false;

static void
forget_sealed(XactEvent event, void *arg)
{
	sealed_xid = InvalidTransactionId;
}

static void
forget_sealed_sub(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		sealed_xid = InvalidTransactionId;
}

static void
remember_sealed(int64 from, int64 max)
{
	if (!sealed_callbacks)
	{
		RegisterXactCallback(forget_sealed, NULL);
		RegisterSubXactCallback(forget_sealed_sub, NULL);
		sealed_callbacks = true;
	}
	if (sealed_xid == GetTopTransactionIdIfAny() && TransactionIdIsValid(sealed_xid))
	{
		/*
		 * Another seal of the same transaction: every event of this transaction with an id
		 * between the two was sealed by one of them (each seals every unsealed event it sees).
		 */
		sealed_from = Min(sealed_from, from);
		sealed_max = Max(sealed_max, max);
		return;
	}
	sealed_xid = GetTopTransactionIdIfAny();
	sealed_from = from;
	sealed_max = max;
}

static SPIPlanPtr plan_sealed_lately = NULL;
static SPIPlanPtr plan_still_unsealed = NULL;
static SPIPlanPtr plan_seal = NULL;

PG_FUNCTION_INFO_V1(audit_seal_at_commit);
Datum
audit_seal_at_commit(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "seal_at_commit");
	int64		id = row_bigint(td, "id");
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	TransactionId top = GetTopTransactionIdIfAny();

	if (TransactionIdIsValid(top) && top == sealed_xid && id >= sealed_from && id <= sealed_max)
		return PointerGetDatum(NULL);	/* sealed by this transaction's seal */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");
	if (SPI_execute_plan(kept_plan(&plan_sealed_lately,
								   "SELECT 1 FROM audit.seal_floor f "
								   "WHERE f.sealed_at OPERATOR(pg_catalog.>) "
								   "      (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) f.seal_every)",
								   0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the seal floor failed");
	if (SPI_processed == 0)
	{
		if (SPI_execute_plan(kept_plan(&plan_still_unsealed,
									   "SELECT 1 FROM audit.events e WHERE e.id OPERATOR(pg_catalog.=) $1 "
									   "AND e.seq IS NULL",
									   1, types),
							 values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: reading the event failed");
		if (SPI_processed == 1 && XactIsoLevel == XACT_READ_COMMITTED &&
			SPI_execute_plan(kept_plan(&plan_seal,
									   "SELECT audit.seal_from(LEAST((SELECT f.floor FROM audit.seal_floor f), $1)) "
									   "WHERE pg_catalog.pg_try_advisory_xact_lock(audit.chain_lock_key(), 0)",
									   1, types),
							 values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: sealing failed");
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* audit.current_operator (0013): the operator a session role or broker stands for. */
static SPIPlanPtr plan_session_operator = NULL;
static SPIPlanPtr plan_broker_operator = NULL;

PG_FUNCTION_INFO_V1(audit_current_operator);
Datum
audit_current_operator(PG_FUNCTION_ARGS)
{
	char	   *operator_name = NULL;
	MemoryContext caller = CurrentMemoryContext;
	text	   *result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");
	if (SPI_execute_plan(kept_plan(&plan_session_operator,
								   "SELECT s.operator FROM access.sessions s "
								   "WHERE s.role_name OPERATOR(pg_catalog.=) SESSION_USER",
								   0, NULL),
						 NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the sessions failed");
	if (SPI_processed > 0)
		operator_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (operator_name == NULL)
	{
		if (SPI_execute_plan(kept_plan(&plan_broker_operator,
									   "SELECT o.name FROM access.operators o "
									   "WHERE o.broker_role OPERATOR(pg_catalog.=) SESSION_USER",
									   0, NULL),
							 NULL, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: reading the operators failed");
		if (SPI_processed > 0)
			operator_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	MemoryContextSwitchTo(caller);
	result = cstring_to_text(operator_name ? operator_name
							 : GetUserNameFromId(GetSessionUserId(), false));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * audit.guard_events (0010, 0023): the audit trail is append-only; the one change allowed is
 * the owner's seal, which sets seq, prev_hash and hash on an unsealed event and leaves every
 * other column as it was (compared byte for byte, detoasted: stricter than IS NOT DISTINCT
 * FROM only for jsonb written differently, which a seal never does).
 */
PG_FUNCTION_INFO_V1(audit_guard_events);
Datum
audit_guard_events(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "guard_events");
	static const char *const kept[] = {"id", "occurred_at", "operator", "session_role", "action",
	"object_type", "object_id", "details", "client_info"};

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		strcmp(GetUserNameFromId(GetUserId(), false), "ledger_owner") == 0)
	{
		TupleDesc	desc = RelationGetDescr(td->tg_relation);
		bool		old_null, new_null;
		bool		same = true;

		(void) heap_getattr(td->tg_trigtuple, attnameAttNum(td->tg_relation, "seq", false), desc, &old_null);
		(void) heap_getattr(td->tg_newtuple, attnameAttNum(td->tg_relation, "seq", false), desc, &new_null);
		for (int i = 0; same && i < lengthof(kept); i++)
		{
			AttrNumber	a = attnameAttNum(td->tg_relation, kept[i], false);
			Form_pg_attribute att = TupleDescAttr(desc, a - 1);
			bool		n1, n2;
			Datum		d1 = heap_getattr(td->tg_trigtuple, a, desc, &n1);
			Datum		d2 = heap_getattr(td->tg_newtuple, a, desc, &n2);

			if (n1 || n2)
				same = n1 && n2;
			else if (att->attlen == -1)
			{
				struct varlena *v1 = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d1));
				struct varlena *v2 = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d2));

				same = VARSIZE_ANY_EXHDR(v1) == VARSIZE_ANY_EXHDR(v2) &&
					memcmp(VARDATA_ANY(v1), VARDATA_ANY(v2), VARSIZE_ANY_EXHDR(v1)) == 0;
			}
			else
				same = datumIsEqual(d1, d2, att->attbyval, att->attlen);
		}
		if (old_null && !new_null && same)
			return PointerGetDatum(td->tg_newtuple);
	}
	ereport(ERROR, (errcode(LG_SQLSTATE('0', '0', '1')),
					errmsg("%s on audit.events is not allowed: the audit trail is append-only",
						   trigger_operation(td)),
					errhint("Audit events are never changed or removed.")));
	PG_RETURN_NULL();
}

/*
 * ledger.post_batch_items(p_items, p_kind) in C (0064): 0017's PL/pgSQL, which stays as
 * ledger.post_batch_items_reference, the specification tst_postbatch compares this with on
 * every batch it has (the same outcome rows and the same rows written). Per item, the single
 * path's checks and messages (request_read and request_legs, as normalize_request runs
 * them), then the key's; one look-up of every item's accounts; the heads of every account a
 * new key touches locked in one statement, in id order; the keys posted before read after
 * the locks; the items decided in order (the first item with a key that keeps every
 * no-negative account at or above zero posts, later ones with its key replay it); the
 * transactions inserted in key order as INSERT ... ON CONFLICT DO NOTHING would, inside a
 * subtransaction that is undone and decided again when a concurrent posting took a key since
 * (at most five rounds, then 40001); the heads moved once each; then the entries and one
 * transaction.posted event per posted item through the executor's insert routines, as the
 * single path writes them.
 */
typedef struct BatchItem
{
	bool		seen;
	bool		valid;			/* passed every check of its own */
	bool		decided;		/* outcome fixed before the in-order decision */
	bool		posts;			/* decided to post */
	char	   *key;
	Request		q;
	bytea	   *hash;			/* the request's fingerprint (valid items) */
	int			group;			/* valid items: the first valid item with the same key */
	int			primary;		/* the item this one replays; -1: none */
	const char *outcome;
	char	   *state;
	char	   *message;
	bool		has_tx;
	int64		tx;
	int64	   *leg_seq;
	int64	   *leg_balance;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
} BatchItem;

static BatchItem *batch_sort_items;

static int
batch_key_order(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;
	int			c = strcmp(batch_sort_items[x].key, batch_sort_items[y].key);

	return c != 0 ? c : (x > y) - (x < y);
}

/* An outcome: refused with this state and message. */
static void
batch_rejected(BatchItem *it, const char *state, char *message)
{
	it->decided = true;
	it->outcome = "rejected";
	it->state = pstrdup(state);
	it->message = message;
	it->has_tx = false;
}

/* Refused by its own checks: out of every decision. */
static void
batch_reject(BatchItem *it, const char *state, char *message)
{
	it->valid = false;
	batch_rejected(it, state, message);
}

static void
batch_refuse(BatchItem *it, const Refusal *no)
{
	batch_reject(it, unpack_sql_state(no->sqlstate), no->message);
}

/* A key posted before: its transaction and fingerprint. */
typedef struct PostedKey
{
	char	   *key;
	int64		id;
	bytea	   *hash;
} PostedKey;

static int
posted_key_order(const void *a, const void *b)
{
	return strcmp(((const PostedKey *) a)->key, ((const PostedKey *) b)->key);
}

static SPIPlanPtr plan_posted_keys = NULL;

/* The keys among these that are posted (SPI connected; sorted by key). */
static PostedKey *
posted_keys(Datum keys, int *n)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1] = {keys};
	PostedKey  *found;
	bool		isnull;

	if (SPI_execute_plan(kept_plan(&plan_posted_keys,
								   "SELECT t.idempotency_key, t.id, t.request_hash FROM ledger.transactions t "
								   "WHERE t.idempotency_key IN (SELECT pg_catalog.unnest($1))",
								   1, types),
						 values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the posted keys failed");
	found = palloc(sizeof(PostedKey) * Max(SPI_processed, 1));
	*n = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		PostedKey  *k = &found[(*n)++];

		k->key = SPI_getvalue(t, d, 1);
		k->id = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		k->hash = DatumGetByteaPP(SPI_getbinval(t, d, 3, &isnull));
	}
	qsort(found, *n, sizeof(PostedKey), posted_key_order);
	return found;
}

static PostedKey *
posted_key(PostedKey *keys, int n, const char *key)
{
	PostedKey	k;

	k.key = (char *) key;
	return bsearch(&k, keys, n, sizeof(PostedKey), posted_key_order);
}

static bool
same_fingerprint(const bytea *a, const bytea *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static int
head_order(const void *a, const void *b)
{
	int64		x = ((const Head *) a)->account_id;
	int64		y = ((const Head *) b)->account_id;

	return (x > y) - (x < y);
}

static Head *
head_of(Head *heads, int nheads, int64 account)
{
	Head		k;

	k.account_id = account;
	return bsearch(&k, heads, nheads, sizeof(Head), head_order);
}

/* An executor state whose range table holds these tables, for the Writers. */
static EState *
executor_for(const Oid *relids, int n)
{
	EState	   *estate = CreateExecutorState();
	List	   *rtable = NIL;

	for (int i = 0; i < n; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = relids[i];
		rte->relkind = RELKIND_RELATION;
		rte->rellockmode = RowExclusiveLock;
		rtable = lappend(rtable, rte);
	}
	ExecInitRangeTable(estate, rtable);
	return estate;
}

static void
executor_done(EState *estate)
{
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
}

/*
 * The items that post, decided in item order against the locked heads (work: a copy, moved
 * as the items post). Returns how many post; their indexes in accepted, in item order.
 */
static int
batch_decide(BatchItem *items, int n, Head *work, int nheads, int *accepted)
{
	int		   *group_posted = palloc(sizeof(int) * n);
	int			nacc = 0;

	for (int i = 0; i < n; i++)
		group_posted[i] = -1;
	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];
		Request    *q = &it->q;
		Head	   *bad = NULL;
		int64		bad_after = 0;

		if (!it->valid || it->decided)
			continue;
		if (group_posted[it->group] >= 0)
		{
			it->primary = group_posted[it->group];	/* a replay of an item that posts */
			continue;
		}

		/*
		 * No no-negative account below zero after the item (its legs on one account summed),
		 * the first such account by id refusing it.
		 */
		for (int l = 0; l < q->nlegs; l++)
		{
			Head	   *h = head_of(work, nheads, q->ids[l]);
			int64		after;
			bool		first = true;

			if (h == NULL)
				elog(ERROR, "ledger_pg: account " INT64_FORMAT " of a batch item is not locked", q->ids[l]);
			for (int m = 0; m < l; m++)
				if (q->ids[m] == q->ids[l])
					first = false;
			if (!first || h->allow_negative)
				continue;
			after = h->balance;
			for (int m = l; m < q->nlegs; m++)
				if (q->ids[m] == q->ids[l] && pg_add_s64_overflow(after, q->amounts[m], &after))
					ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("bigint out of range")));
			if ((h->debit ? after : -after) < 0 && (bad == NULL || h->account_id < bad->account_id))
			{
				bad = h;
				bad_after = after;
			}
		}
		if (bad != NULL)
		{
			int64		shown = bad->debit ? bad_after : -bad_after;

			batch_rejected(it, "LG020", psprintf("Account %s may not go negative: this would leave it at %s %s",
											   bad->code, formatted_amount(shown, bad->currency), bad->currency));
			continue;
		}

		/* It posts: each leg's sequence number and running balance on its account. */
		it->leg_seq = palloc(sizeof(int64) * q->nlegs);
		it->leg_balance = palloc(sizeof(int64) * q->nlegs);
		for (int l = 0; l < q->nlegs; l++)
		{
			Head	   *h = head_of(work, nheads, q->ids[l]);

			h->last_seq += 1;
			h->moved_legs += 1;
			if (pg_add_s64_overflow(h->balance, q->amounts[l], &h->balance))
				ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("bigint out of range")));
			it->leg_seq[l] = h->last_seq;
			it->leg_balance[l] = h->balance;
		}
		group_posted[it->group] = i;
		it->posts = true;
		accepted[nacc++] = i;
	}
	return nacc;
}

/*
 * The transactions of the items that post, ids in item order, rows in key order (two batches
 * inserting the same keys wait for each other in one order only). A key a concurrent posting
 * committed since the keys were read (or is still inserting: the insert waits for it) fails
 * the insert with a unique violation on key_index, which the caller's subtransaction undoes.
 */
static void
batch_insert_transactions(BatchItem *items, const int *accepted, int nacc, const int *by_key, int nvalid,
						  const char *kind, TimestampTz recorded_at, const char *operator_name,
						  const char *session_role, char *volatile *key_index)
{
	Oid			relid = table_oid("ledger", "transactions");
	EState	   *estate = executor_for(&relid, 1);
	Writer		w;
	List	   *arbiters;

	writer_open(&w, estate, relid, 1, false);
	arbiters = unique_index_on(&w, "idempotency_key");
	*key_index = get_rel_name(linitial_oid(arbiters));
	for (int a = 0; a < nacc; a++)
	{
		items[accepted[a]].tx = nextval_internal(w.id_sequence, false);
		items[accepted[a]].has_tx = true;
	}
	statement_begin(&w);
	for (int k = 0; k < nvalid; k++)
	{
		BatchItem  *it = &items[by_key[k]];

		if (!it->posts)
			continue;
		row_begin(&w);
		row_set(&w, "id", Int64GetDatum(it->tx), false);
		row_set(&w, "idempotency_key", CStringGetTextDatum(it->key), false);
		row_set(&w, "request_hash", PointerGetDatum(it->hash), false);
		row_set(&w, "kind", kind ? CStringGetTextDatum(kind) : (Datum) 0, kind == NULL);
		row_set(&w, "effective_at", TimestampTzGetDatum(it->q.effective_at), false);
		row_set(&w, "recorded_at", TimestampTzGetDatum(recorded_at), false);
		row_set(&w, "description", CStringGetTextDatum(it->q.description), false);
		row_set(&w, "external_ref", it->q.external_ref ? CStringGetTextDatum(it->q.external_ref) : (Datum) 0,
				it->q.external_ref == NULL);
		row_set(&w, "reverses", (Datum) 0, true);
		row_set(&w, "created_by", CStringGetTextDatum(operator_name), false);
		row_set(&w, "created_role", CStringGetTextDatum(session_role), false);
		row_insert(&w);
	}
	statement_end(&w);
	writer_close(&w);
	executor_done(estate);
}

static void chain_head(int64 *seq, uint8 *prev);
static void event_hash(pg_cryptohash_ctx *hasher, StringInfo enc, const uint8 *prev, int64 id,
					   TimestampTz occurred, const char *const *fields, uint8 *hash);
static bytea *bytea_of(const uint8 *bytes, int len);
static void remember_sealed(int64 from, int64 max);

/*
 * A batch's events written into the chain as they are inserted (seq, prev_hash and hash set),
 * instead of inserted unsealed and sealed at commit by an UPDATE of each (a second version of
 * every row, in every index of audit.events: 12 ms of a batch of 1,000, and as much again for
 * vacuum). It takes the chain lock as the commit's seal does, without waiting; got, it seals
 * what is pending first (audit.seal_from from the floor, as a commit's seal does) and reads
 * the chain's head; the batch's events follow it, and the lock is held to the end of the
 * transaction, as every seal's is. Only a batch that is its statement's own transaction
 * (autocommit, as LedgerRepository and ingestion call it) takes it: in a transaction block a
 * client could hold the chain for as long as it keeps the block open, and stall every seal,
 * the outbox and the verifiers meanwhile. Not got (a commit is sealing), in a transaction
 * block, or in a REPEATABLE READ or SERIALIZABLE transaction (a seal reads the chain with a
 * snapshot that may miss the latest seal), the events are written unsealed and sealed as any
 * other event. The chain's content
 * is the same either way: the seal's hash of the same columns; audit.verify_chain and
 * ledgerctl's verifier check these events as any others.
 */
static SPIPlanPtr plan_batch_chain = NULL;

static bool
batch_takes_chain(int64 *seq, uint8 *prev)
{
	if (XactIsoLevel != XACT_READ_COMMITTED || IsTransactionBlock())
		return false;
	if (SPI_execute_plan(kept_plan(&plan_batch_chain,
								   "SELECT audit.seal_from((SELECT f.floor FROM audit.seal_floor f)) "
								   "WHERE pg_catalog.pg_try_advisory_xact_lock(audit.chain_lock_key(), 0)",
								   0, NULL),
						 NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: sealing before the batch's events failed");
	if (SPI_processed == 0)
		return false;
	chain_head(seq, prev);
	return true;
}

/* An event's text field as the seal reads it back (jsonb: its text output). */
static char *
jsonb_text(Datum d)
{
	Jsonb	   *jb = DatumGetJsonbP(d);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* The entries and events of the items that post; the heads moved before. */
static void
batch_write(BatchItem *items, const int *accepted, int nacc, Head *work, int nheads, const char *kind,
			TimestampTz recorded_at, const char *operator_name, const char *session_role,
			pg_cryptohash_ctx *hasher)
{
	Oid			relids[2] = {table_oid("ledger", "entries"), table_oid("audit", "events")};
	EState	   *estate;
	Writer		entries, events;
	StringInfoData enc;
	Datum		client = client_info();
	Datum		action = CStringGetTextDatum("transaction.posted");
	Datum		object_type = CStringGetTextDatum("transaction");
	Datum		operator_d = CStringGetTextDatum(operator_name);
	Datum		role_d = CStringGetTextDatum(session_role);
	bool		chained;
	int64		seq = 0;
	uint8		prev[PG_SHA256_DIGEST_LENGTH];
	const char *fields[7];
	int64		first_event = 0;
	int64		last_event = 0;

	move_heads(work, nheads, recorded_at);

	estate = executor_for(relids, 2);
	writer_open(&entries, estate, relids[0], 1, false);
	writer_open(&events, estate, relids[1], 2, false);
	initStringInfo(&enc);

	writing_own_entries = true;
	PG_TRY();
	{
		statement_begin(&entries);
		for (int a = 0; a < nacc; a++)
		{
			BatchItem  *it = &items[accepted[a]];
			Request    *q = &it->q;

			resetStringInfo(&enc);
			digest_head(&enc, it->tx, it->key, it->hash, kind, q->effective_at, recorded_at, false, 0,
						q->description, q->external_ref, operator_name, session_role, q->nlegs);
			for (int l = 0; l < q->nlegs; l++)
			{
				int64		id = nextval_internal(entries.id_sequence, false);
				Datum		currency_b = DirectFunctionCall3(bpcharin, CStringGetDatum(q->currencies[l]),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(3 + VARHDRSZ));

				row_begin(&entries);
				row_set(&entries, "id", Int64GetDatum(id), false);
				row_set(&entries, "transaction_id", Int64GetDatum(it->tx), false);
				row_set(&entries, "account_id", Int64GetDatum(q->ids[l]), false);
				row_set(&entries, "amount", Int64GetDatum(q->amounts[l]), false);
				row_set(&entries, "currency", currency_b, false);
				row_set(&entries, "effective_at", TimestampTzGetDatum(q->effective_at), false);
				row_set(&entries, "recorded_at", TimestampTzGetDatum(recorded_at), false);
				row_set(&entries, "account_seq", Int64GetDatum(it->leg_seq[l]), false);
				row_set(&entries, "balance_after", Int64GetDatum(it->leg_balance[l]), false);
				row_insert(&entries);
				digest_entry(&enc, id, q->ids[l], q->amounts[l],
							 without_trailing_blanks(TextDatumGetCString(currency_b)), q->effective_at,
							 recorded_at, it->leg_seq[l], it->leg_balance[l]);
			}
			sha256_with(hasher, enc.data, enc.len, it->digest);
		}
		statement_end(&entries);
	}
	PG_FINALLY();
	{
		writing_own_entries = false;
	}
	PG_END_TRY();

	chained = batch_takes_chain(&seq, prev);
	if (chained)
	{
		fields[0] = operator_name;
		fields[1] = session_role;
		fields[2] = "transaction.posted";
		fields[3] = "transaction";
		fields[6] = jsonb_text(client);
	}
	statement_begin(&events);
	for (int a = 0; a < nacc; a++)
	{
		BatchItem  *it = &items[accepted[a]];
		int64		id = nextval_internal(events.id_sequence, false);
		TimestampTz occurred = GetCurrentTimestamp();
		char	   *object_id = psprintf(INT64_FORMAT, it->tx);
		Datum		details = posted_details(it->key, kind, false, 0, it->q.nlegs, it->digest);

		row_begin(&events);
		row_set(&events, "id", Int64GetDatum(id), false);
		row_set(&events, "occurred_at", TimestampTzGetDatum(occurred), false);
		row_set(&events, "operator", operator_d, false);
		row_set(&events, "session_role", role_d, false);
		row_set(&events, "action", action, false);
		row_set(&events, "object_type", object_type, false);
		row_set(&events, "object_id", CStringGetTextDatum(object_id), false);
		row_set(&events, "details", details, false);
		row_set(&events, "client_info", client, false);
		if (chained)
		{
			uint8		hash[PG_SHA256_DIGEST_LENGTH];

			fields[4] = object_id;
			fields[5] = jsonb_text(details);
			event_hash(hasher, &enc, prev, id, occurred, fields, hash);
			row_set(&events, "seq", Int64GetDatum(++seq), false);
			row_set(&events, "prev_hash", PointerGetDatum(bytea_of(prev, PG_SHA256_DIGEST_LENGTH)), false);
			row_set(&events, "hash", PointerGetDatum(bytea_of(hash, PG_SHA256_DIGEST_LENGTH)), false);
			memcpy(prev, hash, PG_SHA256_DIGEST_LENGTH);
			if (a == 0)
				first_event = id;
			last_event = id;
		}
		row_insert(&events);
	}
	statement_end(&events);
	if (chained)
		remember_sealed(first_event, last_event);	/* their seal triggers at commit: done */

	writer_close(&entries);
	writer_close(&events);
	executor_done(estate);
}

/* An item as a caller gives it: its key and request, or an error found before. */
static void
batch_item_read(BatchItem *it, char *key, JsonbContainer *request, char *state, char *message)
{
	Refusal		no;

	it->seen = true;
	it->primary = -1;
	it->key = key;
	if (state != NULL)
	{
		/* An error found before (an event that is no event): state || message, cut after 5. */
		char	   *both = psprintf("%s%s", state, message ? message : "");
		int			cut = pg_mbcharcliplen(both, strlen(both), 5);

		batch_reject(it, pnstrdup(both, cut), both + cut);
		return;
	}
	if (!request_read(request, &it->q, &no))
	{
		batch_refuse(it, &no);
		return;
	}
	it->valid = true;
}

static void post_batch(ReturnSetInfo *rsi, BatchItem *items, int n, const char *kind);

/* ledger.post_batch_items(p_items ledger.batch_input[], p_kind) (0064). */
PG_FUNCTION_INFO_V1(ledger_post_batch_items);
Datum
ledger_post_batch_items(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsi;
	ArrayType  *array;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	BatchItem  *items;

	InitMaterializedSRF(fcinfo, 0);
	rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	array = PG_GETARG_ARRAYTYPE_P(0);
	get_typlenbyvalalign(ARR_ELEMTYPE(array), &typlen, &typbyval, &typalign);
	deconstruct_array(array, ARR_ELEMTYPE(array), typlen, typbyval, typalign, &elems, &elem_nulls, &n);
	if (n == 0)
		return (Datum) 0;
	items = palloc0(sizeof(BatchItem) * n);
	for (int i = 0; i < n; i++)
	{
		HeapTupleHeader t = NULL;
		bool		isnull;
		int32		ord = 0;
		Datum		request;

		if (!elem_nulls[i])
		{
			t = DatumGetHeapTupleHeader(elems[i]);
			ord = DatumGetInt32(GetAttributeByName(t, "ord", &isnull));
			if (isnull)
				ord = 0;
		}
		if (ord < 1 || ord > n || items[ord - 1].seen)
			ereport(ERROR, (errcode(ERRCODE_RAISE_EXCEPTION),
							errmsg("ledger.post_batch_items: ordinals must be 1 to %d", n)));
		request = GetAttributeByName(t, "request", &isnull);
		batch_item_read(&items[ord - 1], text_field(t, "idem_key"),
						isnull ? NULL : &DatumGetJsonbP(request)->root,
						text_field(t, "err_state"), text_field(t, "err_message"));
	}
	post_batch(rsi, items, n, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	return (Datum) 0;
}

/*
 * ledger.post_batch(p_requests jsonb) (0066): 0017's PL/pgSQL wrapper (ledger.check_batch,
 * then the array's elements as items, each its own idempotency_key) without building the
 * ledger.batch_input array.
 */
static SPIPlanPtr plan_check_batch = NULL;

PG_FUNCTION_INFO_V1(ledger_post_batch);
Datum
ledger_post_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsi;
	Jsonb	   *batch;
	BatchItem  *items;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	{
		Oid			types[3] = {JSONBOID, TEXTOID, TEXTOID};
		Datum		values[3] = {PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0),
			CStringGetTextDatum("A batch must be a JSON array of transactions"),
		CStringGetTextDatum("transactions")};
		char		nulls[3] = {PG_ARGISNULL(0) ? 'n' : ' ', ' ', ' '};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "ledger_pg: SPI_connect failed");
		if (SPI_execute_plan(kept_plan(&plan_check_batch, "SELECT ledger.check_batch($1, $2, $3)", 3, types),
							 values, nulls, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: ledger.check_batch failed");
		SPI_finish();
	}
	/* check_batch refused anything but an array of at most max_batch_items() */
	batch = PG_GETARG_JSONB_P(0);
	n = JsonContainerSize(&batch->root);
	if (n == 0)
		return (Datum) 0;
	items = palloc0(sizeof(BatchItem) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbContainer *request = container_of(getIthJsonbValueFromContainer(&batch->root, i));

		batch_item_read(&items[i], member_text(request, "idempotency_key"), request, NULL, NULL);
	}
	post_batch(rsi, items, n, "posting");
	return (Datum) 0;
}

/* The core of both: items read, then checked, decided and written; one row per item. */
static void
post_batch(ReturnSetInfo *rsi, BatchItem *items, int n, const char *kind)
{
	int		   *by_key;
	int			nvalid = 0;
	int		   *accepted;
	int			nacc = 0;
	Head	   *heads = NULL, *work = NULL;
	int			nheads = 0;
	TimestampTz last_recorded = DT_NOBEGIN;
	TimestampTz recorded_at = 0;
	char	   *operator_name;
	const char *session_role;
	Datum		keys_d;
	PostedKey  *posted;
	int			nposted;
	pg_cryptohash_ctx *hasher = pg_cryptohash_create(PG_SHA256);	/* for every hash of the call */

	let_go_of_stale_planned();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");

	/* 2. Every valid item's accounts in one look-up; the legs, then the key. */
	{
		int			ncodes = 0;
		Datum	   *codes;
		Accounts	accounts;

		for (int i = 0; i < n; i++)
			if (items[i].valid)
				ncodes += items[i].q.nlegs;
		codes = palloc(sizeof(Datum) * Max(ncodes, 1));
		ncodes = 0;
		for (int i = 0; i < n; i++)
			if (items[i].valid)
				for (int l = 0; l < items[i].q.nlegs; l++)
					if (items[i].q.codes[l] != NULL)
						codes[ncodes++] = CStringGetTextDatum(items[i].q.codes[l]);
		accounts = accounts_of(codes, ncodes);
		for (int i = 0; i < n; i++)
		{
			BatchItem  *it = &items[i];
			Refusal		no;

			if (!it->valid)
				continue;
			if (!request_legs(&it->q, &accounts, &no))
				batch_refuse(it, &no);
			else if (it->q.external_ref != NULL && pg_mbstrlen(it->q.external_ref) > 200)
				batch_reject(it, "LG017", "external_ref is longer than 200 characters");
			else if (it->key == NULL || pg_mbstrlen(it->key) < 1 || pg_mbstrlen(it->key) > 200)
				batch_reject(it, "LG010", "An idempotency key of 1 to 200 characters is required");
			else if (kind != NULL && strcmp(kind, "posting") == 0 &&
					 (strncmp(it->key, "reversal:", 9) == 0 || strncmp(it->key, "rebook:", 7) == 0 ||
					  strncmp(it->key, "event:", 6) == 0))
				batch_reject(it, "LG010",
							 psprintf("Idempotency key \"%s\" is reserved: keys starting with reversal:, rebook: or event: belong to reversals and ingested events",
									  it->key));
			else
				it->hash = request_fingerprint_of(hasher, kind, request_canonical_text(&it->q), false, 0);
		}
	}

	/* The valid items in key order; each one's group: the first item with its key. */
	by_key = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		if (items[i].valid)
			by_key[nvalid++] = i;
	batch_sort_items = items;
	qsort(by_key, nvalid, sizeof(int), batch_key_order);
	{
		Datum	   *keys = palloc(sizeof(Datum) * Max(nvalid, 1));
		int			nkeys = 0;

		for (int k = 0; k < nvalid; k++)
		{
			BatchItem  *it = &items[by_key[k]];

			if (k > 0 && strcmp(items[by_key[k - 1]].key, it->key) == 0)
				it->group = items[by_key[k - 1]].group;
			else
			{
				it->group = by_key[k];
				keys[nkeys++] = CStringGetTextDatum(it->key);
			}
		}
		keys_d = PointerGetDatum(construct_array(keys, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
	}

	/*
	 * 3. The heads of every account a valid item with a new key touches, locked in one
	 * statement in id order. (An item whose key is posted already touches nothing; keys are
	 * never taken back, so the items that may post are among these.) The first round decides
	 * with the keys read here: a key committed by another transaction since makes its insert
	 * find it, and the next round reads the keys again after the locks.
	 */
	nposted = 0;
	posted = nvalid > 0 ? posted_keys(keys_d, &nposted) : NULL;
	if (nvalid > 0)
	{
		int64	   *ids;
		int			nids = 0;

		for (int k = 0; k < nvalid; k++)
			nids += items[by_key[k]].q.nlegs;
		ids = palloc(sizeof(int64) * Max(nids, 1));
		nids = 0;
		for (int k = 0; k < nvalid; k++)
		{
			BatchItem  *it = &items[by_key[k]];

			if (posted_key(posted, nposted, it->key) == NULL)
				for (int l = 0; l < it->q.nlegs; l++)
					ids[nids++] = it->q.ids[l];
		}
		heads = lock_many_heads(int8_array(ids, nids), &nheads);
		for (int h = 0; h < nheads; h++)
			if (heads[h].last_recorded_at > last_recorded)
				last_recorded = heads[h].last_recorded_at;
	}
	work = palloc(sizeof(Head) * Max(nheads, 1));
	accepted = palloc(sizeof(int) * n);
	operator_name = current_operator();
	session_role = GetUserNameFromId(GetSessionUserId(), false);

	for (int round = 1; nvalid > 0; round++)
	{
		MemoryContext context = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		volatile bool inserted = false;
		char	   *volatile key_index = NULL;

		/* 4. The keys posted before (after a round undone: read again, after the locks). */
		if (round > 1)
			posted = posted_keys(keys_d, &nposted);
		for (int k = 0; k < nvalid; k++)
		{
			BatchItem  *it = &items[by_key[k]];
			PostedKey  *p = posted_key(posted, nposted, it->key);

			it->decided = false;
			it->posts = false;
			it->outcome = NULL;
			it->state = it->message = NULL;
			it->has_tx = false;
			it->primary = -1;
			if (p == NULL)
				continue;
			it->decided = true;
			if (same_fingerprint(p->hash, it->hash))
			{
				it->outcome = "duplicate";
				it->has_tx = true;
				it->tx = p->id;
			}
			else
			{
				it->outcome = "rejected";
				it->state = "LG011";
				it->message = psprintf("Idempotency key \"%s\" was already used for a different request (transaction " INT64_FORMAT ")",
									   it->key, p->id);
			}
		}

		/* 5. The rest, in order. */
		memcpy(work, heads, sizeof(Head) * nheads);
		nacc = batch_decide(items, n, work, nheads, accepted);

		/*
		 * A key committed meanwhile shows when an item inserts it; one whose items all went
		 * negative (LG020) inserts nothing, so those keys are looked at now: if one is
		 * posted, the batch is decided again with the keys read after the locks.
		 */
		if (round == 1)
		{
			Datum	   *refused = palloc(sizeof(Datum) * Max(nvalid, 1));
			int			nrefused = 0;

			for (int k = 0; k < nvalid; k++)
			{
				BatchItem  *it = &items[by_key[k]];

				if (it->state != NULL && strcmp(it->state, "LG020") == 0)
					refused[nrefused++] = CStringGetTextDatum(it->key);
			}
			if (nrefused > 0)
			{
				int			ntaken;

				(void) posted_keys(PointerGetDatum(construct_array(refused, nrefused, TEXTOID, -1, false,
																   TYPALIGN_INT)),
								   &ntaken);
				if (ntaken > 0)
					continue;
			}
		}
		if (nacc == 0)
			break;

		/* 6. Their transactions, undone and decided again when a key was taken meanwhile. */
		recorded_at = Max(GetCurrentTimestamp(), last_recorded);
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(context);
		PG_TRY();
		{
			batch_insert_transactions(items, accepted, nacc, by_key, nvalid, kind, recorded_at,
									  operator_name, session_role, &key_index);
			ReleaseCurrentSubTransaction();
			inserted = true;
		}
		PG_CATCH();
		{
			ErrorData  *e;

			MemoryContextSwitchTo(context);
			e = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(context);
			CurrentResourceOwner = owner;
			/* Only a key taken meanwhile is decided again; anything else fails the batch. */
			if (e->sqlerrcode != ERRCODE_UNIQUE_VIOLATION || key_index == NULL || e->constraint_name == NULL ||
				strcmp(e->constraint_name, key_index) != 0)
				ReThrowError(e);
			FreeErrorData(e);
			inserted = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
		if (inserted)
			break;
		if (round >= 5)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							errmsg("Concurrent postings kept taking idempotency keys of this batch; nothing was posted"),
							errhint("Send the batch again: keys posted meanwhile come back as duplicates.")));
	}

	/* 7. The heads, entries and events of what posts. */
	if (nacc > 0)
	{
		batch_write(items, accepted, nacc, work, nheads, kind, recorded_at, operator_name, session_role, hasher);
		for (int a = 0; a < nacc; a++)
		{
			BatchItem  *it = &items[accepted[a]];

			it->outcome = "posted";
			remember_verified(it->tx);
		}
	}

	/*
	 * Replays inside the batch: the same request is a duplicate of the item that posted,
	 * another request under its key is refused as the single path refuses it.
	 */
	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];
		BatchItem  *p;

		if (it->primary < 0)
			continue;
		p = &items[it->primary];
		if (same_fingerprint(it->hash, p->hash))
		{
			it->outcome = "duplicate";
			it->has_tx = true;
			it->tx = p->tx;
		}
		else
		{
			it->outcome = "rejected";
			it->state = "LG011";
			it->message = psprintf("Idempotency key \"%s\" was already used for a different request (transaction " INT64_FORMAT ")",
								   it->key, p->tx);
		}
	}

	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];
		Datum		values[5];
		bool		nulls[5] = {false, !it->has_tx, it->outcome == NULL, it->state == NULL, it->message == NULL};

		values[0] = Int32GetDatum(i + 1);
		values[1] = Int64GetDatum(it->tx);
		values[2] = it->outcome ? CStringGetTextDatum(it->outcome) : (Datum) 0;
		values[3] = it->state ? CStringGetTextDatum(it->state) : (Datum) 0;
		values[4] = it->message ? CStringGetTextDatum(it->message) : (Datum) 0;
		tuplestore_putvalues(rsi->setResult, rsi->setDesc, values, nulls);
	}
	pg_cryptohash_free(hasher);
	SPI_finish();
}

/*
 * audit.seal_from(p_from) in C (0065): 0060's PL/pgSQL, statement for statement, its hashing
 * loop here instead of one SQL call of audit.event_encoding per event. The bound first (before
 * the search's snapshot), the chain's head, the unsealed events from p_from in id order, each
 * hashed onto the one before (sha256(prev_hash || audit.event_encoding(...)), the bytes
 * audit.event_encoding and audit.field make: the verifiers compare them), one UPDATE for all,
 * the floor moved. The caller holds the chain (seal, seal_if_free, seal_at_commit take it).
 */
static SPIPlanPtr plan_seal_bound = NULL;
static SPIPlanPtr plan_chain_head = NULL;
static SPIPlanPtr plan_genesis = NULL;
static SPIPlanPtr plan_unsealed = NULL;
static SPIPlanPtr plan_chain_events = NULL;
static SPIPlanPtr plan_move_floor = NULL;

/* audit.field(p): its octet length (server encoding), then its UTF-8 bytes. */
static void
put_audit_field(StringInfo s, const char *p)
{
	if (p == NULL)
		put_int4(s, -1);
	else
	{
		int			len = strlen(p);
		char	   *utf8 = pg_server_to_any(p, len, PG_UTF8);

		put_int4(s, len);
		appendBinaryStringInfo(s, utf8, strlen(utf8));
	}
}

static bytea *
bytea_of(const uint8 *bytes, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return b;
}

/*
 * The chain's head: the last sealed event's seq and hash, or 0 and the genesis hash (SPI
 * connected; under the chain lock, read after it was taken).
 */
static void
chain_head(int64 *seq, uint8 *prev)
{
	bool		isnull;

	if (SPI_execute_plan(kept_plan(&plan_chain_head,
								   "SELECT e.seq, e.hash FROM audit.events e WHERE e.seq IS NOT NULL "
								   "ORDER BY e.seq DESC LIMIT 1",
								   0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "ledger_pg: reading the chain's head failed");
	if (SPI_processed == 1)
	{
		bytea	   *h;

		*seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		h = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (isnull || VARSIZE_ANY_EXHDR(h) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "ledger_pg: the chain's head has no hash of 32 bytes");
		memcpy(prev, VARDATA_ANY(h), PG_SHA256_DIGEST_LENGTH);
	}
	else
	{
		bytea	   *g;

		*seq = 0;
		if (SPI_execute_plan(kept_plan(&plan_genesis, "SELECT audit.genesis_hash()", 0, NULL),
							 NULL, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "ledger_pg: audit.genesis_hash failed");
		g = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull || VARSIZE_ANY_EXHDR(g) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "ledger_pg: the genesis hash is not 32 bytes");
		memcpy(prev, VARDATA_ANY(g), PG_SHA256_DIGEST_LENGTH);
	}
}

/*
 * An event's link: sha256(prev || audit.event_encoding(id, occurred_at, operator,
 * session_role, action, object_type, object_id, details::text, client_info::text)), the
 * seven text fields in that order (NULL: none).
 */
static void
event_hash(pg_cryptohash_ctx *hasher, StringInfo enc, const uint8 *prev, int64 id, TimestampTz occurred,
		   const char *const *fields, uint8 *hash)
{
	resetStringInfo(enc);
	appendBinaryStringInfo(enc, (const char *) prev, PG_SHA256_DIGEST_LENGTH);
	appendStringInfoString(enc, "ledger-audit-v1");
	put_int8(enc, id);
	put_int8(enc, unix_micros(occurred));
	for (int c = 0; c < 7; c++)
		put_audit_field(enc, fields[c]);
	sha256_with(hasher, enc->data, enc->len, hash);
}

PG_FUNCTION_INFO_V1(audit_seal_from);
Datum
audit_seal_from(PG_FUNCTION_ARGS)
{
	int64		from = PG_GETARG_INT64(0);
	Datum		bound;
	bool		bound_null;
	int64		seq;
	uint8		prev[PG_SHA256_DIGEST_LENGTH];
	int64		count = 0;
	bool		isnull;
	pg_cryptohash_ctx *hasher = pg_cryptohash_create(PG_SHA256);	/* for every event */

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ledger_pg: SPI_connect failed");
	if (SPI_execute_plan(kept_plan(&plan_seal_bound, "SELECT audit.seal_bound()", 0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ledger_pg: audit.seal_bound failed");
	bound = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &bound_null);

	chain_head(&seq, prev);

	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(from)};
		uint64		n;
		Datum	   *ids, *seqs, *prevs, *hashes;
		StringInfoData enc;

		if (SPI_execute_plan(kept_plan(&plan_unsealed,
									   "SELECT e.id, e.occurred_at, e.operator, e.session_role, e.action, e.object_type, "
									   "e.object_id, e.details::pg_catalog.text, e.client_info::pg_catalog.text "
									   "FROM audit.events e WHERE e.seq IS NULL AND e.id OPERATOR(pg_catalog.>=) $1 "
									   "ORDER BY e.id",
									   1, types),
							 values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "ledger_pg: reading the unsealed events failed");
		n = SPI_processed;
		ids = palloc(sizeof(Datum) * Max(n, 1));
		seqs = palloc(sizeof(Datum) * Max(n, 1));
		prevs = palloc(sizeof(Datum) * Max(n, 1));
		hashes = palloc(sizeof(Datum) * Max(n, 1));
		initStringInfo(&enc);
		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			int64		id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
			TimestampTz occurred = DatumGetTimestampTz(SPI_getbinval(t, d, 2, &isnull));
			uint8		hash[PG_SHA256_DIGEST_LENGTH];
			const char *fields[7];

			for (int c = 3; c <= 9; c++)
				fields[c - 3] = SPI_getvalue(t, d, c);
			event_hash(hasher, &enc, prev, id, occurred, fields, hash);

			ids[i] = Int64GetDatum(id);
			seqs[i] = Int64GetDatum(seq + (int64) i + 1);
			prevs[i] = PointerGetDatum(bytea_of(prev, PG_SHA256_DIGEST_LENGTH));
			hashes[i] = PointerGetDatum(bytea_of(hash, PG_SHA256_DIGEST_LENGTH));
			memcpy(prev, hash, PG_SHA256_DIGEST_LENGTH);
		}
		count = (int64) n;
		if (n > 0)
		{
			Oid			utypes[4] = {INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID, BYTEAARRAYOID};
			Datum		uvalues[4];

			uvalues[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			uvalues[1] = PointerGetDatum(construct_array(seqs, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			uvalues[2] = PointerGetDatum(construct_array(prevs, n, BYTEAOID, -1, false, TYPALIGN_INT));
			uvalues[3] = PointerGetDatum(construct_array(hashes, n, BYTEAOID, -1, false, TYPALIGN_INT));
			if (SPI_execute_plan(kept_plan(&plan_chain_events,
										   "UPDATE audit.events e SET seq = u.seq, prev_hash = u.prev_hash, hash = u.hash "
										   "FROM unnest($1, $2, $3, $4) AS u(id, seq, prev_hash, hash) "
										   "WHERE e.id OPERATOR(pg_catalog.=) u.id",
										   4, utypes),
								 uvalues, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != n)
				elog(ERROR, "ledger_pg: sealing the events failed");
			remember_sealed(DatumGetInt64(ids[0]), DatumGetInt64(ids[n - 1]));
		}
	}

	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {bound};
		char		nulls[1] = {bound_null ? 'n' : ' '};

		if (SPI_execute_plan(kept_plan(&plan_move_floor,
									   "UPDATE audit.seal_floor f SET floor = $1, sealed_at = pg_catalog.clock_timestamp()",
									   1, types),
							 values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "ledger_pg: moving the seal floor failed");
	}
	pg_cryptohash_free(hasher);
	SPI_finish();
	PG_RETURN_INT64(count);
}
