#!/usr/bin/env python3
"""gen_corr_input.py — synthetic CloudTrail JSON lines for the correlation benchmark.

Writes N compact CloudTrail-shaped records, one a line, for the two rules of
bench/corr_rules.secdet:
  - failed console sign-ins (signin.amazonaws.com ConsoleLogin, errorMessage
    "Failed authentication"), each from one of G source IP addresses — the
    groups of the count rule;
  - IAM calls by one of G principals (user ARNs) — the groups of the sequence
    rule: mostly reconnaissance (List*/Get*), a small share of privilege
    changes (AttachUserPolicy, ...), which complete a sequence when a
    reconnaissance call by the same principal came before.
Each event picks its group uniformly at random (fixed seed), so with N = 1M
and G = 100k a group sees ~5 events of each kind; with --assign cycle the
events of each kind take the groups in turn instead (0, 1, ..., G-1, 0, ...),
so that N events of one kind reach exactly min(N, G) groups — the way
bench/corr_groups.sh makes a million groups from a million events. Event times increase
monotonically (ties allowed: many events share a second) over --span
seconds, short enough that every group is still inside its window at the end
of the input: the peak state holds all G groups of each rule.

--lean drops the fields no rule reads (user agent, request ids, sign-in
details, ...): the same groups and times in records about a third as long.
The benchmark measures memory per group with both forms to tell the bytes of
the sample event a group keeps from the rest of its state.

Promise: the output depends only on the arguments; when OUT exists with a
stamp (OUT.stamp) naming the same arguments, nothing is rewritten. OUT.meta
gets the mean length in bytes of each kind of record (with its newline) and
the number of groups each rule sees (distinct source IPs of the sign-ins;
distinct principals of the reconnaissance calls, the sequence's first step):
`login_mean=N iam_mean=N count_groups=N sequence_groups=N`.

    gen_corr_input.py -n 1000000 -g 100000 [--kinds both|count|sequence] [--span 240] [--lean]
                      [--assign random|cycle] -o OUT
"""
import argparse
import datetime as dt
import os
import random
import sys

ACCOUNT = "111122223333"
BASE = dt.datetime(2024, 3, 14, 9, 0, 0, tzinfo=dt.timezone.utc)

RECON = ["ListUsers", "ListRoles", "ListPolicies", "ListAttachedUserPolicies",
         "GetAccountAuthorizationDetails", "ListGroupsForUser", "GetUser", "ListAccessKeys"]
ESCALATE = ["AttachUserPolicy", "PutUserPolicy", "CreateAccessKey", "AttachRolePolicy"]
# Share of IAM calls that are privilege changes.
ESCALATE_SHARE = 0.01

LOGIN = (
    '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA4EXAMPLE%08d",'
    '"accountId":"' + ACCOUNT + '","accessKeyId":"","userName":"user%d"},'
    '"eventTime":"%s","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",'
    '"awsRegion":"us-east-1","sourceIPAddress":"%s",'
    '"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",'
    '"errorMessage":"Failed authentication","requestParameters":null,'
    '"responseElements":{"ConsoleLogin":"Failure"},'
    '"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%%23&isauthcode=true",'
    '"MobileVersion":"No","MFAUsed":"No"},"eventID":"%08x-0000-4000-8000-%012x","readOnly":false,'
    '"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"' + ACCOUNT + '",'
    '"eventCategory":"Management"}\n'
)

IAM = (
    '{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA4EXAMPLE%08d",'
    '"arn":"arn:aws:iam::' + ACCOUNT + ':user/svc-%06d","accountId":"' + ACCOUNT + '",'
    '"accessKeyId":"AKIA4EXAMPLE%08d","userName":"svc-%06d"},'
    '"eventTime":"%s","eventSource":"iam.amazonaws.com","eventName":"%s","awsRegion":"us-east-1",'
    '"sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off",'
    '"requestParameters":%s,"responseElements":null,"requestID":"%08x-0001-4000-8000-%012x",'
    '"eventID":"%08x-0002-4000-8000-%012x","readOnly":%s,"eventType":"AwsApiCall","managementEvent":true,'
    '"recipientAccountId":"' + ACCOUNT + '","eventCategory":"Management"}\n'
)


LEAN_LOGIN = (
    '{"userIdentity":{"type":"IAMUser","userName":"user%d"},"eventTime":"%s",'
    '"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"%s",'
    '"errorMessage":"Failed authentication"}\n'
)

LEAN_IAM = (
    '{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::' + ACCOUNT + ':user/svc-%06d"},'
    '"eventTime":"%s","eventSource":"iam.amazonaws.com","eventName":"%s"}\n'
)


def ip_of(g):
    return "10.%d.%d.%d" % ((g >> 16) & 255, (g >> 8) & 255, g & 255)


def generate(f, n, groups, kinds, span, seed, lean, cycle=False):
    """Writes the records; returns the mean length of each kind."""
    rng = random.Random(seed)
    sizes = {"login": [0, 0], "iam": [0, 0]}
    seen = {"login": set(), "recon": set()}
    times = [(BASE + dt.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ") for s in range(span + 1)]
    out = []
    for i in range(n):
        t = times[i * span // n]
        login = kinds == "count" or (kinds == "both" and i % 2 == 0)
        if cycle:
            g = (sizes["login" if login else "iam"][0]) % groups
        else:
            g = rng.randrange(groups)
        if login:
            if lean:
                out.append(LEAN_LOGIN % (g % 5000, t, ip_of(g)))
            else:
                out.append(LOGIN % (g, g % 5000, t, ip_of(g), i, g))
            kind = "login"
            seen["login"].add(g)
        else:
            if rng.random() < ESCALATE_SHARE:
                name = ESCALATE[i % len(ESCALATE)]
                params = '{"userName":"svc-%06d","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}' % g
                read_only = "false"
            else:
                name = RECON[i % len(RECON)]
                params = "null"
                read_only = "true"
                seen["recon"].add(g)
            if lean:
                out.append(LEAN_IAM % (g, t, name))
            else:
                out.append(IAM % (g, g, g, g, t, name, g % 250, params, i, g, i, g, read_only))
            kind = "iam"
        sizes[kind][0] += 1
        sizes[kind][1] += len(out[-1])
        if len(out) >= 10000:
            f.write("".join(out))
            out.clear()
    f.write("".join(out))
    means = {k: (b / c if c else 0.0) for k, (c, b) in sizes.items()}
    return means, len(seen["login"]), len(seen["recon"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--events", type=int, default=1_000_000)
    ap.add_argument("-g", "--groups", type=int, default=100_000, help="groups per rule")
    ap.add_argument("--kinds", choices=["both", "count", "sequence"], default="both")
    ap.add_argument("--span", type=int, default=240, help="seconds from the first event to the last")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lean", action="store_true", help="records with only the fields the rules read")
    ap.add_argument("--assign", choices=["random", "cycle"], default="random",
                    help="how an event's group is chosen: at random, or each kind's groups in turn")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    if a.events < 1 or a.groups < 1 or a.groups > 1 << 24 or a.span < 1:
        ap.error("need events >= 1, 1 <= groups <= 16777216, span >= 1")
    stamp = "%s events=%d groups=%d kinds=%s span=%d seed=%d escalate=%g lean=%d\n" % (
        os.path.basename(__file__), a.events, a.groups, a.kinds, a.span, a.seed, ESCALATE_SHARE, a.lean)
    if a.assign != "random":  # the stamps of existing files stay valid
        stamp = stamp[:-1] + " assign=%s\n" % a.assign
    stamp_path = a.output + ".stamp"
    meta_path = a.output + ".meta"
    if all(os.path.exists(p) for p in (a.output, stamp_path, meta_path)):
        with open(stamp_path) as s:
            if s.read() == stamp:
                print("%s: up to date" % a.output, file=sys.stderr)
                return 0
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        means, count_groups, sequence_groups = generate(f, a.events, a.groups, a.kinds, a.span, a.seed, a.lean,
                                                        a.assign == "cycle")
    os.replace(tmp, a.output)
    with open(meta_path, "w") as m:
        m.write("login_mean=%.1f iam_mean=%.1f count_groups=%d sequence_groups=%d\n"
                % (means["login"], means["iam"], count_groups, sequence_groups))
    with open(stamp_path, "w") as s:
        s.write(stamp)
    print("%s: %d events, %d groups per rule (%s%s)" % (a.output, a.events, a.groups, a.kinds,
                                                         ", lean" if a.lean else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
