/*
 * sql_table.c — the tables `secdet sql` writes its queries over.
 *
 * CloudTrail's is the table AWS documents for Athena ("Querying AWS
 * CloudTrail logs", the CREATE EXTERNAL TABLE over the JsonSerDe), column
 * for column, so a query runs on the table a team already has. Its facts,
 * which decide what a rule can say over it exactly:
 *  - names are the records' member names in lower case (Hive's);
 *  - a scalar member is a STRING column: NULL when the member is missing
 *    and also when it is JSON null — the table cannot tell them apart, and
 *    the SQL treats them alike (docs/investigate.md says so);
 *  - the free-form objects (requestParameters, responseElements,
 *    additionalEventData, serviceEventDetails) are STRING columns holding
 *    the object's JSON text: a path below them goes through the dialect's
 *    JSON functions, which do tell a string from a number, null from missing;
 *  - readOnly is a JSON boolean kept as the text "true" / "false".
 *
 * The other built-in log types have no table a vendor documents for a lake,
 * so theirs is the plainest exact one: one row per event, one column
 * `event` holding the event's JSON text as the export wrote it (a line of
 * JSON lines; Athena reads the line whole, its default field delimiter
 * \001 never occurring in JSON text). Every path is read below that column
 * through the JSON functions, which keep a string apart from a number and
 * null apart from missing — so nothing is lost to a column's type.
 */
#include <stdio.h>
#include <string.h>

#include "sql/sql.h"

typedef enum { T_STR, T_BOOLTEXT, T_JSON, T_STRUCT, T_MAP, T_ARRAY_STRUCT } col_type;

typedef struct col {
    int depth;
    const char *name; /* the event's member name */
    col_type type;
} col;

/* Pre-order: a STRUCT's members follow it one level deeper. */
static const col cloudtrail_cols[] = {
    {0, "eventVersion", T_STR},
    {0, "userIdentity", T_STRUCT},
    {1, "type", T_STR},
    {1, "principalId", T_STR},
    {1, "arn", T_STR},
    {1, "accountId", T_STR},
    {1, "invokedBy", T_STR},
    {1, "accessKeyId", T_STR},
    {1, "userName", T_STR},
    {1, "onBehalfOf", T_STRUCT},
    {2, "userId", T_STR},
    {2, "identityStoreArn", T_STR},
    {1, "sessionContext", T_STRUCT},
    {2, "attributes", T_STRUCT},
    {3, "mfaAuthenticated", T_STR},
    {3, "creationDate", T_STR},
    {2, "sessionIssuer", T_STRUCT},
    {3, "type", T_STR},
    {3, "principalId", T_STR},
    {3, "arn", T_STR},
    {3, "accountId", T_STR},
    {3, "userName", T_STR},
    {2, "ec2RoleDelivery", T_STR},
    {2, "webIdFederationData", T_STRUCT},
    {3, "federatedProvider", T_STR},
    {3, "attributes", T_MAP},
    {0, "eventTime", T_STR},
    {0, "eventSource", T_STR},
    {0, "eventName", T_STR},
    {0, "awsRegion", T_STR},
    {0, "sourceIPAddress", T_STR},
    {0, "userAgent", T_STR},
    {0, "errorCode", T_STR},
    {0, "errorMessage", T_STR},
    {0, "requestParameters", T_JSON},
    {0, "responseElements", T_JSON},
    {0, "additionalEventData", T_JSON},
    {0, "requestID", T_STR},
    {0, "eventID", T_STR},
    {0, "readOnly", T_BOOLTEXT},
    {0, "resources", T_ARRAY_STRUCT},
    {1, "arn", T_STR},
    {1, "accountId", T_STR},
    {1, "type", T_STR},
    {0, "eventType", T_STR},
    {0, "apiVersion", T_STR},
    {0, "recipientAccountId", T_STR},
    {0, "serviceEventDetails", T_JSON},
    {0, "sharedEventID", T_STR},
    {0, "vpcEndpointId", T_STR},
    {0, "vpcEndpointAccountId", T_STR},
    {0, "eventCategory", T_STR},
    {0, "tlsDetails", T_STRUCT},
    {1, "tlsVersion", T_STR},
    {1, "cipherSuite", T_STR},
    {1, "clientProvidedHostHeader", T_STR},
};
#define NCOLS (sizeof cloudtrail_cols / sizeof cloudtrail_cols[0])

/* The JSON-lines tables: log type, table. */
static const char *const json_tables[][2] = {
    {"guardduty", "guardduty_findings"}, {"gcp-audit", "gcp_audit_logs"},       {"gworkspace", "gworkspace_activities"},
    {"okta", "okta_system_log"},         {"crowdstrike", "crowdstrike_events"},
};
#define NJSON (sizeof json_tables / sizeof json_tables[0])

static const char *json_table(const char *log_type) {
    for (size_t i = 0; log_type && i < NJSON; i++)
        if (strcmp(json_tables[i][0], log_type) == 0) return json_tables[i][1];
    return NULL;
}

const char *sd_sql_table_name(const char *log_type) {
    if (log_type && strcmp(log_type, "cloudtrail") == 0) return "cloudtrail_logs";
    return json_table(log_type);
}

int sd_sql_table_is_json(const char *log_type) { return json_table(log_type) != NULL; }

static void put_ident(char *out, size_t cap, const char *name) {
    size_t n = strlen(out);
    if (n + 1 < cap) out[n++] = '"';
    for (const char *p = name; *p && n + 2 < cap; p++) out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    if (n + 1 < cap) out[n++] = '"';
    out[n] = 0;
}

/* A JSONPath member both Trino's and DuckDB's JSON functions read alike. */
static int plain_key(const char *k) {
    if (!*k) return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) return 0;
    return 1;
}

/* out->jsonpath: "$" then p's segments from `from` on. */
static int json_below(const sd_path *p, uint32_t from, sql_ref *out, char *why, size_t whylen) {
    out->kind = COL_JSON;
    strcpy(out->jsonpath, "$");
    for (uint32_t k = from; k < p->nsegs; k++) {
        const path_seg *g = &p->segs[k];
        size_t n = strlen(out->jsonpath);
        if (g->kind == SEG_KEY && plain_key(g->key)) {
            snprintf(out->jsonpath + n, sizeof out->jsonpath - n, ".%s", g->key);
        } else if (g->kind == SEG_INDEX) {
            snprintf(out->jsonpath + n, sizeof out->jsonpath - n, "[%u]", (unsigned)g->index);
        } else {
            snprintf(why, whylen, "%s: %s is not spelt alike by every dialect's JSON path", p->text,
                     g->kind == SEG_STAR ? "[*]" : "a quoted member");
            return -1;
        }
        if (strlen(out->jsonpath) + 1 >= sizeof out->jsonpath) {
            snprintf(why, whylen, "%s: path too long", p->text);
            return -1;
        }
    }
    if (strcmp(out->jsonpath, "$") == 0) {
        snprintf(why, whylen, "%s: an object kept as JSON text", p->text);
        return -1;
    }
    return 0;
}

int sd_sql_table_ref(const char *log_type, const sd_path *p, sql_ref *out, char *why, size_t whylen) {
    if (!sd_sql_table_name(log_type)) {
        snprintf(why, whylen, "no documented table for log type '%s'", log_type ? log_type : "?");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (json_table(log_type)) {
        strcpy(out->column, "\"event\"");
        return json_below(p, 0, out, why, whylen);
    }
    size_t at = 0; /* the first column of the level being searched */
    int depth = 0;
    for (uint32_t s = 0; s < p->nsegs; s++) {
        const path_seg *seg = &p->segs[s];
        if (seg->kind != SEG_KEY) {
            snprintf(why, whylen, "%s: the table has no array here", p->text);
            return -1;
        }
        size_t found = NCOLS;
        for (size_t i = at; i < NCOLS && cloudtrail_cols[i].depth >= depth; i++) {
            if (cloudtrail_cols[i].depth == depth && strcmp(cloudtrail_cols[i].name, seg->key) == 0) {
                found = i;
                break;
            }
        }
        if (found == NCOLS) {
            snprintf(why, whylen, "%s: the table has no column for it", p->text);
            return -1;
        }
        const col *c = &cloudtrail_cols[found];
        if (out->column[0]) strncat(out->column, ".", sizeof out->column - strlen(out->column) - 1);
        put_ident(out->column, sizeof out->column, c->name);
        int last = s + 1 == p->nsegs;
        switch (c->type) {
        case T_STR:
        case T_BOOLTEXT:
            if (!last) {
                snprintf(why, whylen, "%s: %s is a string", p->text, c->name);
                return -1;
            }
            out->kind = c->type == T_STR ? COL_STRING : COL_BOOLTEXT;
            return 0;
        case T_JSON: return json_below(p, s + 1, out, why, whylen);
        case T_STRUCT:
            if (last) {
                snprintf(why, whylen, "%s: an object (the table keeps its members)", p->text);
                return -1;
            }
            at = found + 1;
            depth++;
            break;
        case T_MAP:
        case T_ARRAY_STRUCT:
            snprintf(why, whylen, "%s: %s is %s in the table", p->text, c->name,
                     c->type == T_MAP ? "a map" : "an array");
            return -1;
        }
    }
    snprintf(why, whylen, "%s: not a column", p->text);
    return -1;
}

/* ---- DDL ----------------------------------------------------------------------- */

static void lower_name(buf *b, const char *name) {
    for (const char *p = name; *p; p++) sd_buf_putc(b, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
}

/* The type of column i (its members after it); returns the index past them. */
static size_t put_type(buf *b, size_t i, sql_dialect d) {
    const col *c = &cloudtrail_cols[i];
    const char *str = d == SQL_ATHENA ? "STRING" : "VARCHAR";
    switch (c->type) {
    case T_STR:
    case T_BOOLTEXT:
    case T_JSON: sd_buf_puts(b, str); return i + 1;
    case T_MAP: sd_buf_puts(b, d == SQL_ATHENA ? "MAP<STRING,STRING>" : "MAP(VARCHAR, VARCHAR)"); return i + 1;
    case T_STRUCT:
    case T_ARRAY_STRUCT: break;
    }
    int array = c->type == T_ARRAY_STRUCT;
    if (array) sd_buf_puts(b, d == SQL_ATHENA ? "ARRAY<" : d == SQL_TRINO ? "ARRAY(" : "");
    sd_buf_puts(b, d == SQL_ATHENA ? "STRUCT<" : d == SQL_TRINO ? "ROW(" : "STRUCT(");
    size_t j = i + 1;
    int first = 1;
    while (j < NCOLS && cloudtrail_cols[j].depth > c->depth) {
        if (!first) sd_buf_puts(b, ", ");
        first = 0;
        lower_name(b, cloudtrail_cols[j].name);
        sd_buf_puts(b, d == SQL_ATHENA ? ": " : " ");
        j = put_type(b, j, d);
    }
    sd_buf_puts(b, d == SQL_ATHENA ? ">" : ")");
    if (array) sd_buf_puts(b, d == SQL_ATHENA ? ">" : d == SQL_TRINO ? ")" : "[]");
    return j;
}

int sd_sql_table_ddl(const char *log_type, sql_dialect d, buf *out) {
    const char *name = sd_sql_table_name(log_type);
    if (!name) return -1;
    if (json_table(log_type)) {
        sd_buf_printf(out, "CREATE %sTABLE %s (\n    event %s\n)", d == SQL_ATHENA ? "EXTERNAL " : "", name,
                      d == SQL_ATHENA ? "STRING" : "VARCHAR");
        if (d == SQL_ATHENA)
            sd_buf_printf(out, "\nROW FORMAT DELIMITED LINES TERMINATED BY '\\n'\nSTORED AS TEXTFILE\n"
                               "LOCATION 's3://BUCKET/PREFIX/'");
        sd_buf_puts(out, ";\n");
        return out->oom ? -1 : 0;
    }
    sd_buf_printf(out, "CREATE %sTABLE %s (\n", d == SQL_ATHENA ? "EXTERNAL " : "", name);
    size_t i = 0;
    while (i < NCOLS) {
        sd_buf_puts(out, "    ");
        lower_name(out, cloudtrail_cols[i].name);
        sd_buf_putc(out, ' ');
        i = put_type(out, i, d);
        sd_buf_puts(out, i < NCOLS ? ",\n" : "\n");
    }
    sd_buf_puts(out, ")");
    if (d == SQL_ATHENA) {
        sd_buf_puts(out, "\nPARTITIONED BY (region STRING, year STRING, month STRING, day STRING)\n"
                         "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
                         "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
                         "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
                         "LOCATION 's3://BUCKET/AWSLogs/ACCOUNT_ID/CloudTrail/'");
    }
    sd_buf_puts(out, ";\n");
    return out->oom ? -1 : 0;
}
