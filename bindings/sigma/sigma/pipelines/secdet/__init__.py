"""Sigma logsources and field names -> secdet log types and field paths.

The mapping is data (LOGSOURCES): each entry says which secdet log type
(`on`) a Sigma logsource (product, service) becomes, an extra condition
when the Sigma service is narrower than the log type, how each Sigma field
name becomes a secdet path, and which top-level members the log type has.
A field outside them is refused rather than guessed: a path the log type
never has would make the rule silently never match.
"""
import re

# Empty: sigma-cli's plugin discovery takes every name in __all__ for a
# pipeline. The backend imports what it needs by name.
__all__ = []


class Refused(Exception):
    """A Sigma construct secdet cannot express exactly; the message says why."""


# CloudTrail record contents (AWS's documented members).
_CLOUDTRAIL = {
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
    "responseElements", "additionalEventData", "requestID", "eventID", "eventType",
    "apiVersion", "managementEvent", "readOnly", "resources", "recipientAccountId",
    "serviceEventDetails", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId",
    "eventCategory", "tlsDetails", "sessionCredentialFromConsole", "edgeDeviceDetails",
    "insightDetails", "addendum",
}
# Google's AuditLog (the LogEntry's protoPayload) and LogEntry members.
_AUDITLOG = {
    "@type", "serviceName", "methodName", "resourceName", "resourceLocation",
    "resourceOriginalState", "numResponseItems", "status", "authenticationInfo",
    "authorizationInfo", "policyViolationInfo", "requestMetadata", "request", "response",
    "metadata", "serviceData",
}
_LOGENTRY = {
    "logName", "resource", "timestamp", "receiveTimestamp", "severity", "insertId",
    "httpRequest", "labels", "operation", "trace", "spanId", "traceSampled",
    "sourceLocation", "split", "protoPayload",
}
# Okta System Log LogEvent members; `target` is an array of objects.
_OKTA = {
    "uuid", "published", "eventType", "version", "severity", "legacyEventType",
    "displayMessage", "actor", "client", "request", "outcome", "target", "transaction",
    "debugContext", "authenticationContext", "securityContext",
}
_OKTA_ARRAYS = {"target"}


def _gcp_field(field):
    # SigmaHQ's gcp.audit rules name fields of GCP's Pub/Sub export
    # (data.protoPayload.X, the LogEntry under `data`) or ECS-style
    # (gcp.audit.method_name). secdet unwraps Pub/Sub pushes, so the
    # LogEntry is the event.
    if field == "gcp.audit.method_name":
        return ["protoPayload", "methodName"]
    parts = field.split(".")
    if parts[0] == "data":
        parts = parts[1:]
    if parts and parts[0] == "protoPayload":
        if len(parts) < 2 or parts[1] not in _AUDITLOG:
            raise Refused(f"field '{field}' is not a member of GCP's AuditLog (protoPayload)")
        # Workspace activities shared with Cloud Logging hold their events
        # as an array: protoPayload.metadata.event[].eventName
        if parts[1:3] == ["metadata", "event"]:
            parts = parts[:3] + ["[*]"] + parts[3:]
        return parts
    if parts and parts[0] in _LOGENTRY:
        return parts
    raise Refused(f"field '{field}' is not a field of log type gcp-audit")


def _members(known, arrays=()):
    def mapper(field):
        parts = field.split(".")
        if parts[0] not in known:
            raise Refused(f"field '{field}' is not a field of this log type")
        out = []
        for p in parts:
            out.append(p)
            if p in arrays and len(out) == 1:
                out.append("[*]")
        return out
    return mapper


# Google Workspace admin rules name the Admin SDK Reports activity by
# Cloud Logging's words: eventService admin.googleapis.com is the
# activity's application `admin`, eventName its `.name`, and the
# parameters are under `.parameters` (secdet turns them into an object).
_GWS_FIELDS = {
    "eventName": ["name"],
    "setting_name": ["parameters", "SETTING_NAME"],
    "new_value": ["parameters", "NEW_VALUE"],
    "old_value": ["parameters", "OLD_VALUE"],
    "application_name": ["parameters", "APPLICATION_NAME"],
}


def _gws_field(field):
    if field in _GWS_FIELDS:
        return _GWS_FIELDS[field]
    raise Refused(f"field '{field}' has no mapping to log type gworkspace")


# (product, service) -> log type, extra condition, field mapper, value rewrites.
LOGSOURCES = {
    ("aws", "cloudtrail"): {"on": "cloudtrail", "fields": _members(_CLOUDTRAIL)},
    ("gcp", "gcp.audit"): {"on": "gcp-audit", "fields": _gcp_field},
    # Workspace login events as Cloud Logging exports them (protoPayload...).
    ("gcp", "google_workspace.login"): {
        "on": "gcp-audit", "fields": _gcp_field,
        # the service is narrower than the log type: say which events
        "filter": '.protoPayload.serviceName == "login.googleapis.com"',
    },
    ("gcp", "google_workspace.admin"): {
        "on": "gworkspace",
        "fields": _gws_field,
        "filter": '.id.applicationName == "admin"',
        # eventService is not a field of the Reports activity: its one value
        # in SigmaHQ names the application, which is .id.applicationName.
        "values": {"eventService": (["id", "applicationName"], {"admin.googleapis.com": "admin"})},
    },
    ("okta", "okta"): {"on": "okta", "fields": _members(_OKTA, _OKTA_ARRAYS)},
    ("okta", None): {"on": "okta", "fields": _members(_OKTA, _OKTA_ARRAYS)},
}


def logsource_of(rule):
    ls = rule.logsource
    if ls.category is not None:
        raise Refused(f"logsource category '{ls.category}' has no secdet log type")
    key = (ls.product, ls.service)
    if key not in LOGSOURCES:
        raise Refused(f"logsource product '{ls.product}' service '{ls.service}' has no secdet log type")
    return LOGSOURCES[key]


# ---- the user's logsource map (--logsource, backend option logsource_map) ----
# An entry `product=windows,service=security:winsec` says that the events of
# secdet source `winsec` are those of every Sigma logsource with that product
# and service (a key left out matches any value, as in pySigma's logsource
# conditions). Such a rule becomes `on winsec` with its field names as
# written: the user vouches for them, nothing checks them.
SELECTOR_KEYS = ("category", "product", "service")
_SOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$")


class LogsourceEntry:
    def __init__(self, spec, selector, source):
        self.spec, self.selector, self.source = spec, selector, source
        self.used = 0

    def matches(self, logsource):
        return all(getattr(logsource, k) == v for k, v in self.selector.items())


def parse_logsource_map(specs):
    """Entries `KEY=VALUE[,KEY=VALUE...]:SOURCE` (a string, or a list of
    them, in the order given) -> [LogsourceEntry]; ValueError says what is
    wrong with one."""
    if specs is None:
        return []
    if isinstance(specs, str):
        specs = [specs]
    out = []
    for spec in specs:
        sel_text, colon, source = str(spec).partition(":")
        if not colon or not source.strip() or not sel_text.strip():
            raise ValueError(f"logsource map entry '{spec}': expected KEY=VALUE[,KEY=VALUE...]:SOURCE, "
                             "e.g. product=windows:jsonl")
        selector = {}
        for part in sel_text.split(","):
            key, eq, value = (x.strip() for x in part.partition("="))
            if not eq or key not in SELECTOR_KEYS or not value:
                raise ValueError(f"logsource map entry '{spec}': '{part}' is not KEY=VALUE with KEY one of "
                                 + ", ".join(SELECTOR_KEYS))
            if key in selector:
                raise ValueError(f"logsource map entry '{spec}': {key} given twice")
            selector[key] = value
        out.append(LogsourceEntry(spec, selector, source.strip()))
    return out


def source_text(name):
    """A source name as `on` takes it: bare when it is a (hyphenated) name,
    else quoted."""
    from sigma.backends.secdet.convert import KEYWORDS, lit
    if _SOURCE_NAME.match(name) and name not in KEYWORDS:
        return name
    return lit(name)


def as_written(field):
    """A field name as written: dots are nesting (`a.b` -> .a.b)."""
    return field.split(".")


def user_logsource(entries, rule):
    """The logsource entry of the first user entry that matches the rule's
    logsource, or None."""
    for e in entries:
        if e.matches(rule.logsource):
            e.used += 1
            return {"on": source_text(e.source), "fields": as_written}
    return None


_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")


def path_text(parts):
    import json
    out = ""
    for p in parts:
        if p == "[*]" or re.match(r"^\[\d+\]$", p):
            out += p
        elif _PLAIN.match(p):
            out += "." + p
        else:
            out += "." + json.dumps(p, ensure_ascii=False)
    return out


def map_field(ls, field):
    """The secdet path of a Sigma field name in logsource entry `ls`."""
    return path_text(ls["fields"](field))


# sigma-cli's plugin discovery reads this dict. It is empty: the mapping
# above is applied by the backend itself, because a field it cannot map
# must refuse the rule, which a pySigma field-mapping transformation cannot.
pipelines = {}
