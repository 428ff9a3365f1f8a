/* s3.h — S3 over libcurl, signed with AWS Signature Version 4 (libcurl's
 * CURLOPT_AWS_SIGV4): GetObject and ListObjectsV2, the credentials a
 * program finds the way the AWS tools do, and the fetch of a prefix for
 * `secdet hunt` with CloudTrail's date folders pruned. The Lambda runtime
 * reads its objects with sd_s3_get_object; the command lists and reads
 * with the rest.
 *
 * Where S3 is: SECDET_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL points at an S3-compatible server (path-style,
 * ENDPOINT/bucket/key); otherwise https://BUCKET.s3.REGION.amazonaws.com/.
 * The region is AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
 */
#ifndef SECDET_S3_S3_H
#define SECDET_S3_S3_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct sd_s3_creds {
    char akid[128];
    char secret[128];
    char token[4096]; /* "" when none */
    const char *from; /* "environment", "profile NAME", "container endpoint", or "none" (unsigned requests) */
    char from_buf[96];
} sd_s3_creds;

/* The credentials, first found of: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (+ AWS_SESSION_TOKEN); the profile AWS_PROFILE (else "default") of the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials); the container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI, or 169.254.170.2 plus
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN
 * or the contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE). None of
 * them: unsigned requests (a public bucket). -1 with err when a source
 * that is configured fails (a named profile missing, the endpoint down). */
int sd_s3_creds_load(sd_s3_creds *c, char *err, size_t errlen);

/* GetObject bucket/key (key already URL-decoded) into *out, signed with the
 * credentials (NULL: sd_s3_creds_load's). err gets a short reason on
 * failure. timeout_ms bounds the whole transfer. 0 on success. */
int sd_s3_get_object(const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes, buf *out, char *err,
                     size_t errlen);

/* One page of ListObjectsV2 (delimiter "/"): the response's XML. token: the
 * continuation token, or NULL. 0, or -1 with err. */
int sd_s3_list_page(const sd_s3_creds *c, const char *bucket, const char *prefix, const char *token, buf *xml,
                    char *err, size_t errlen);

/* ---- a prefix's objects (s3_fetch.c) ---- */

typedef struct sd_s3_object {
    char *key;
    uint64_t size;
    char *path; /* where it was fetched to */
} sd_s3_object;

typedef struct sd_s3_fetch_stats {
    size_t listed;         /* objects listed */
    size_t pruned_folders; /* CloudTrail date folders outside the range, not listed */
    size_t fetched;        /* objects read */
    uint64_t bytes;
} sd_s3_fetch_stats;

/* Called as objects arrive (progress). */
typedef void (*sd_s3_progress_fn)(void *user, const sd_s3_fetch_stats *s, size_t total);

/* Lists s3://bucket/prefix (recursively) and fetches every object into dir,
 * `parallel` at a time. CloudTrail's AWSLogs/ACCOUNT/CloudTrail/REGION/
 * YYYY/MM/DD/ folders whose day lies outside [since_ns, until_ns] (one day
 * more after until: a log file is delivered after its events) are not
 * listed, nor are CloudTrail-Digest files (not events). The objects, in key
 * order, in *out (sd_s3_objects_free); a path NULL where an object could
 * not be read. 0; 1 when some objects could not be read (err names the
 * first); -1 with err when the listing failed. */
int sd_s3_fetch_prefix(const char *bucket, const char *prefix, int64_t since_ns, int64_t until_ns, const char *dir,
                       int parallel, sd_s3_progress_fn progress, void *user, sd_s3_object **out, size_t *n,
                       sd_s3_fetch_stats *stats, char *err, size_t errlen);
void sd_s3_objects_free(sd_s3_object *v, size_t n);

#endif
