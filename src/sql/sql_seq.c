/*
 * sql_seq.c — an ordered sequence as MATCH_RECOGNIZE (Trino, Athena).
 *
 * The engine (correlate/sequence.c, seqx.c) fires at the earliest event E,
 * since the group's last alert, that completes a chain of step events
 * s1 < s2 < ... < E (one event each, in order) with E no more than DUR
 * after s1; E starts nothing. A `not` step between two steps is a guard:
 * a chain is cut by a guard event strictly between the steps around it
 * (the event that fills the next step is none). A leading `not` step: s1
 * starts nothing when such an event came before it, since the last alert,
 * no more than DUR before it. Of the chains completing at E the alert's is
 * the one with the latest start (the newest partial per step is kept: same
 * future, more time left).
 *  - E: PATTERN (p1 g1*? p2 ... g(m-1)*? pm), gk the rows a chain may pass
 *    between its steps (any, or none of the gap's guards). The first match
 *    found starts at the earliest s1 with a chain; its reluctant gaps take
 *    the earliest next steps, which is that start's earliest E (an earlier
 *    next step may always stand in for a later one: a guard it would have
 *    to cross lies before the later one's own step), and no later start
 *    completes earlier (the earlier start splices itself onto that chain
 *    where the chain first falls behind its own). AFTER MATCH SKIP PAST
 *    LAST ROW is the reset. With leading guards the match starts at the
 *    reset, (wl | wn)*? taking the rows before s1, so that a guard since
 *    the reset is seen; when no chain follows, z takes the group's rows.
 *  - the latest start, over the match's rows in order (ALL ROWS PER
 *    MATCH): f1 a valid step 1 row's position, fk at a step k row the
 *    greatest f(k-1) of the rows before it since the gap's last guard (a
 *    running max per guard segment, read one row back), and the alert's
 *    first event is fm at E (g carries the rows' times along).
 * A trailing `not` step (the completion waits DUR for its absence, on the
 * watermark) is refused.
 */
#include <stdio.h>

#include "sql/sql_int.h"

#define MAX_SEQ 64

typedef struct seq_shape {
    size_t pos[MAX_SEQ]; /* the steps that are not `not`, in order */
    size_t m;
    int guarded[MAX_SEQ]; /* gap k (before positive step k, k >= 1; 0: leading) has guards */
} seq_shape;

/* "s3 OR s4": the gap's guards as a condition of label lab's row ("" for the current row). */
static void guards(const seq_shape *sh, size_t k, const char *lab, buf *o) {
    size_t lo = k ? sh->pos[k - 1] + 1 : 0, n = 0;
    for (size_t s = lo; s < sh->pos[k]; s++)
        sd_buf_printf(o, "%s%s%ss%zu", n++ ? " OR " : "", lab, *lab ? "." : "", s + 1);
}

/* " OVER (PARTITION BY k1, ..., mn[, cK] ORDER BY pos[ FRAME])". */
static void over(buf *o, size_t nkeys, long seg, const char *frame) {
    sd_buf_puts(o, " OVER (PARTITION BY ");
    for (size_t i = 0; i < nkeys; i++) sd_buf_printf(o, "k%zu, ", i + 1);
    sd_buf_puts(o, "mn");
    if (seg >= 0) sd_buf_printf(o, ", c%ld", seg);
    sd_buf_printf(o, " ORDER BY pos%s)", frame);
}

static int base_rows(sqlc *c, const ast_rule *r, buf *o) {
    sd_buf_puts(o, "(SELECT * FROM (");
    sd_sql_timed(c, o);
    if (sd_sql_key_columns(c, r->by, r->nby, o) != 0) return -1;
    for (size_t s = 0; s < r->nsteps; s++) {
        sd_buf_puts(o, ", ");
        if (sd_sql_cond(c, r->steps[s].cond, o) != 0) return -1;
        sd_buf_printf(o, " AS s%zu", s + 1);
    }
    sd_buf_printf(o, " FROM %s) AS r) AS e WHERE s1", sd_sql_table_name(c->log_type));
    for (size_t s = 1; s < r->nsteps; s++) sd_buf_printf(o, " OR s%zu", s + 1);
    sd_buf_putc(o, ')');
    return 0;
}

static void pattern(const ast_rule *r, const seq_shape *sh, buf *o) {
    long long w = (long long)r->within_ms;
    int lead = sh->guarded[0];
    sd_buf_puts(o, "\n  MEASURES CLASSIFIER() AS cls, MATCH_NUMBER() AS mn, COUNT(*) AS pos\n  ALL ROWS PER MATCH\n"
                   "  AFTER MATCH SKIP PAST LAST ROW\n  PATTERN (");
    sd_buf_puts(o, lead ? "(wl | wn)*? p1" : "p1");
    for (size_t k = 1; k < sh->m; k++) sd_buf_printf(o, " %s%zu*? p%zu", sh->guarded[k] ? "y" : "x", k, k + 1);
    sd_buf_puts(o, lead ? " | z+)\n  DEFINE wl AS " : ")\n  DEFINE ");
    if (lead) {
        guards(sh, 0, "wl", o);
        sd_buf_puts(o, ", wn AS NOT (");
        guards(sh, 0, "wn", o);
        sd_buf_puts(o, "),\n    ");
    }
    for (size_t k = 1; k < sh->m; k++) {
        if (!sh->guarded[k]) continue;
        char lab[24];
        snprintf(lab, sizeof lab, "y%zu", k);
        sd_buf_printf(o, "%s AS NOT (", lab);
        guards(sh, k, lab, o);
        sd_buf_puts(o, "), ");
    }
    for (size_t k = 0; k < sh->m; k++) {
        sd_buf_printf(o, "%sp%zu AS p%zu.s%zu", k ? ", " : "", k + 1, k + 1, sh->pos[k] + 1);
        if (k == 0 && lead) sd_buf_printf(o, " AND COALESCE(LAST(wl.t_ns) < p1.t_ns - %lld000000, TRUE)", w);
    }
    sd_buf_printf(o, " AND p%zu.t_ns - FIRST(p1.t_ns) <= %lld000000\n)", sh->m, w);
}

int sd_sql_trino_sequence(sqlc *c, const ast_rule *r, buf *o) {
    seq_shape sh = {.m = 0};
    if (r->nsteps > MAX_SEQ) return sd_sqlc_refuse(c, "a sequence of more than %d steps", MAX_SEQ);
    for (size_t s = 0; s < r->nsteps; s++) {
        if (r->steps[s].negated)
            sh.guarded[sh.m] = 1;
        else
            sh.pos[sh.m++] = s;
    }
    if (sh.m == 0) return sd_sqlc_refuse(c, "a sequence of not steps only");
    if (r->steps[r->nsteps - 1].negated)
        return sd_sqlc_refuse(c,
                              "step '%s': a trailing not step waits DUR past the completion for its absence; "
                              "not compiled to SQL",
                              r->steps[r->nsteps - 1].name ? r->steps[r->nsteps - 1].name : "");
    size_t m = sh.m, nk = r->nby;
    long long w = (long long)r->within_ms;
    sd_sql_head(o, r);
    sd_buf_printf(o, "event_time, event_id, %zu AS count, g%zu AS first_seen, ", m, m);
    sd_sql_grp_column(c, o, nk);
    sd_buf_puts(o, "\nFROM ");
    /* Outermost first: level Fk (k = m..2) reads f(k-1)'s running max
     * h(k-1) one row back; h(k-1) is a level of its own (Hk-1) below it. */
    for (size_t k = m; k >= 2; k--) {
        sd_buf_printf(o, "(SELECT u%zu.*, CASE WHEN s%zu THEN lag(h%zu)", 2 * k - 2, sh.pos[k - 1] + 1, k - 1);
        over(o, nk, -1, "");
        sd_buf_printf(o, " END AS f%zu, CASE WHEN s%zu THEN lag(hg%zu)", k, sh.pos[k - 1] + 1, k - 1);
        over(o, nk, -1, "");
        sd_buf_printf(o, " END AS g%zu\n  FROM (SELECT u%zu.*, max(f%zu)", k, 2 * k - 3, k - 1);
        over(o, nk, (long)(k - 1), " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW");
        sd_buf_printf(o, " AS h%zu, max_by(g%zu, f%zu)", k - 1, k - 1, k - 1);
        over(o, nk, (long)(k - 1), " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW");
        sd_buf_printf(o, " AS hg%zu\n  FROM ", k - 1);
    }
    /* f1: a step 1 row that no leading guard within DUR before it (since the reset) stops. */
    const char *valid = sh.guarded[0] ? " AND COALESCE(lead_t < t_ns - " : "";
    sd_buf_printf(o, "(SELECT c.*, CASE WHEN s%zu%s", sh.pos[0] + 1, valid);
    if (*valid) sd_buf_printf(o, "%lld000000, TRUE)", w);
    sd_buf_printf(o, " THEN pos END AS f1, CASE WHEN s%zu%s", sh.pos[0] + 1, valid);
    if (*valid) sd_buf_printf(o, "%lld000000, TRUE)", w);
    sd_buf_puts(o, " THEN event_time END AS g1\n  FROM (SELECT l.*");
    if (sh.guarded[0]) {
        sd_buf_puts(o, ", max(CASE WHEN ");
        guards(&sh, 0, "", o);
        sd_buf_puts(o, " THEN t_ns END)");
        over(o, nk, -1, " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING");
        sd_buf_puts(o, " AS lead_t");
    }
    /* cK: the guards of gap K so far (0 where it has none): a segment of rows between them. */
    for (size_t k = 1; k < m; k++) {
        if (!sh.guarded[k]) {
            sd_buf_printf(o, ", 0 AS c%zu", k);
            continue;
        }
        sd_buf_puts(o, ", sum(CASE WHEN ");
        guards(&sh, k, "", o);
        sd_buf_puts(o, " THEN 1 ELSE 0 END)");
        over(o, nk, -1, " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW");
        sd_buf_printf(o, " AS c%zu", k);
    }
    sd_buf_puts(o, "\n  FROM ");
    if (base_rows(c, r, o) != 0) return -1;
    sd_buf_puts(o, "\nMATCH_RECOGNIZE (\n  ");
    sd_sql_group_order(o, nk, "\n  ");
    pattern(r, &sh, o);
    /* Each level's rows are u1, u2, ... from the inside (F1, H1, F2, H2, ...). */
    sd_buf_puts(o, " AS l) AS c) AS u1");
    for (size_t k = 2; k <= m; k++) sd_buf_printf(o, ") AS u%zu) AS u%zu", 2 * k - 2, 2 * k - 1);
    sd_buf_printf(o, "\nWHERE cls = 'P%zu'", m);
    return 0;
}
