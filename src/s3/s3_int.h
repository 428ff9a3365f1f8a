/* s3_int.h — what the files of src/s3/ share: a signed request being built. */
#ifndef SECDET_S3_INT_H
#define SECDET_S3_INT_H

#include <curl/curl.h>

#include "s3/s3.h"

typedef struct sd_s3_request {
    CURL *curl;
    struct curl_slist *h;
    buf url, hdr;
    char sigv4[96];
} sd_s3_request;

/* A GET of bucket/key?query on a new easy handle, signed (s3_request.c);
 * the caller sets what to do with the body. 0, or -1 with err. */
int sd_s3_request_init(sd_s3_request *r, const sd_s3_creds *c, const char *bucket, const char *key, const char *query,
                       char *err, size_t errlen);
void sd_s3_request_free(sd_s3_request *r);
const char *sd_s3_region(void);

#endif
