"""trinoclient.py — the smallest Trino client: a statement POSTed to
/v1/statement, nextUri followed until the result is whole (Trino's REST
protocol), rows returned, an error raised with Trino's message."""
import json
import time
import urllib.request


def query(url, sql, catalog="memory", schema="default", timeout=300):
    headers = {"X-Trino-User": "secdet", "X-Trino-Catalog": catalog, "X-Trino-Schema": schema}
    req = urllib.request.Request(url.rstrip("/") + "/v1/statement", data=sql.encode(), headers=headers,
                                 method="POST")
    doc = json.load(urllib.request.urlopen(req, timeout=60))
    rows, deadline = [], time.time() + timeout
    while True:
        if "error" in doc:
            raise RuntimeError("Trino: %s\n%s" % (doc["error"].get("message"), sql[:2000]))
        rows.extend(doc.get("data") or [])
        nxt = doc.get("nextUri")
        if not nxt:
            return rows
        if time.time() > deadline:
            raise TimeoutError(sql[:200])
        doc = json.load(urllib.request.urlopen(urllib.request.Request(nxt, headers=headers), timeout=60))


def reachable(url):
    try:
        urllib.request.urlopen(url.rstrip("/") + "/v1/info", timeout=5).read()
        return True
    except Exception:
        return False
