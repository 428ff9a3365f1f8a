"""Lambda runtime (bootstrap) against hostile events, under AWS's Runtime
Interface Emulator as in test_lambda.py (whose set-up this reuses): a
CloudWatch Logs gzip bomb, envelopes whose keys come in an unusual order,
an S3 key that decodes to a NUL byte. fuzz/fuzz_lambda.c fuzzes the same
router without the emulator.
"""
import base64
import gzip
import json

from test_lambda import assert_alive, cis_events, env, invoke, rules_of, s3_record  # noqa: F401 (env: fixture)


def test_cloudwatch_gzip_bomb_is_refused_and_the_runtime_goes_on(env):  # noqa: F811
    # 9 MiB of JSON (one log event and whitespace) in ~12 KB: over the 8 MiB a payload may decompress to.
    ev = cis_events()["cis_aws_4_3_root_account_usage"]
    head = json.dumps({"messageType": "DATA_MESSAGE", "logGroup": "trail", "logStream": "s",
                       "logEvents": [{"id": "1", "timestamp": 1710400000000, "message": json.dumps(ev)}]})
    inner = head[:-2] + " " * (9 * 1024 * 1024) + "]}"
    data = base64.b64encode(gzip.compress(inner.encode(), 9)).decode()
    assert len(data) < 64 * 1024
    status, out = invoke(env, {"awslogs": {"data": data}})
    assert out.get("errorType") == "Runtime.InvalidEvent", (status, out)
    assert "decompresses to more than 8388608 bytes" in out["errorMessage"], out
    assert_alive(env)
    assert env["hook"].take() == []
    # The same payload without the padding: its event alerts.
    data = base64.b64encode(gzip.compress(head.encode())).decode()
    status, out = invoke(env, {"awslogs": {"data": data}})
    assert status == 200 and out["events"] == 1 and out["alerts"] == 1, out
    assert rules_of(env["hook"].take()) == {"cis_aws_4_3_root_account_usage"}


def test_eventbridge_event_is_decoded_whatever_its_first_key(env):  # noqa: F811
    # "Records" first made the decoder read it as a CloudTrail file.
    ev = cis_events()["cis_aws_4_1_unauthorized_api_calls"]
    event = {"Records": "not a CloudTrail file", "version": "0", "detail-type": "AWS API Call via CloudTrail",
             "source": "aws.ec2", "time": ev["eventTime"], "detail": ev}
    status, out = invoke(env, event)
    assert status == 200 and out["kind"] == "eventbridge", out
    assert out["events"] == 1 and out["malformed"] == 0 and out["alerts"] == 1, out
    assert rules_of(env["hook"].take()) == {"cis_aws_4_1_unauthorized_api_calls"}


def test_s3_key_decoding_to_a_nul_byte_fails_its_record(env):  # noqa: F811
    env["s3"].put_object(Bucket="trail", Key="AWSLogs/a", Body=gzip.compress(b'{"Records": []}'))
    rec = s3_record("trail", "AWSLogs/a")
    rec["s3"]["object"]["key"] = "AWSLogs/a%00.json.gz"  # once read as AWSLogs/a
    status, out = invoke(env, {"Records": [rec]})
    assert out.get("errorType") == "Runtime.RecordsFailed", (status, out)
    status, out = invoke(env, {"Records": [{"messageId": "m-1", "eventSource": "aws:sqs",
                                            "body": json.dumps({"Records": [rec]})}]})
    assert status == 200 and out["batchItemFailures"] == [{"itemIdentifier": "m-1"}], out
    assert "NUL" in out["failures"][0]["error"], out
    assert_alive(env)
