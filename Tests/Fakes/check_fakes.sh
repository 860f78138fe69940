#!/usr/bin/env bash
# Checks moto_server.py and fake_sagemaker.py with boto3 as the client (boto3 signs every
# request; both servers check signatures). For humans after changing the fakes; CI does not
# run it. Needs: python3 -m pip install 'moto[server]==5.2.1' (brings boto3/botocore).
# Usage: bash Tests/Fakes/check_fakes.sh        (prints "N passed, N failed"; exit 1 on failure)
set -euo pipefail
cd "$(dirname "$0")"
python3 fake_sagemaker.py --selftest
exec python3 - <<'PY'
import json, os, signal, subprocess, sys, tempfile, time, urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

passed, failed = 0, []


def check(condition, what):
    global passed
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if condition:
        passed += 1
    else:
        failed.append(what)


def error_code(call):
    try:
        call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"], \
            error.response["Error"].get("Message", "")
    return 200, None, ""


def start(args):
    process = subprocess.Popen([sys.executable] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = process.stdout.readline()
    if not line:
        sys.exit("server did not start: " + " ".join(args))
    return process, json.loads(line)


def clients(endpoint, key, secret, attempts=3):
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"}, read_timeout=20)
    make = lambda service: boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                                        aws_access_key_id=key, aws_secret_access_key=secret, config=config)
    return make


IMAGE = ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
         "2.1-tgi2.0-gpu-py310-cu121-ubuntu22.04")
CHAT = {"messages": [{"role": "system", "content": "You are helpful."},
                     {"role": "user", "content": "What is deep learning?"}],
        "max_tokens": 12, "temperature": 0.6, "stream": True, "stream_options": {"include_usage": True}}


def deploy(sm, role, instance_type, name="llama3-endpoint"):
    sm.create_model(ModelName=name + "-model", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": IMAGE, "Environment": {"HF_MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct",
                                                                      "SM_NUM_GPUS": "4", "MESSAGES_API_ENABLED": "true"}})
    sm.create_endpoint_config(EndpointConfigName=name + "-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name + "-model", "InitialVariantWeight": 1,
        "InitialInstanceCount": 1, "InstanceType": instance_type, "ContainerStartupHealthCheckTimeoutInSeconds": 900}])
    return sm.create_endpoint(EndpointName=name, EndpointConfigName=name + "-config",
                              Tags=[{"Key": "created-by", "Value": "cellbook"}])["EndpointArn"]


def sse_text(payload):
    """The content of a TGI SSE chat stream, plus whether it ended with [DONE] and had usage."""
    text, done, usage = "", False, None
    for line in payload.decode().split("\n"):
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            continue
        chunk = json.loads(data)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk["choices"]:
            text += choice["delta"].get("content") or ""
    return text, done, usage


# ---------------------------------------------------------------------------------- moto
print("-- moto_server.py")
started = time.monotonic()
moto, info = start(["moto_server.py"])
check(set(info) >= {"endpoint", "access_key_id", "secret_access_key", "region", "account", "pid"},
      "moto prints its JSON line in %.1f s: %s" % (time.monotonic() - started, info["endpoint"]))
make = clients(info["endpoint"], info["access_key_id"], info["secret_access_key"])
sts, iam, s3, sm, rt = (make(s) for s in ("sts", "iam", "s3", "sagemaker", "sagemaker-runtime"))
identity = sts.get_caller_identity()
check(identity["Account"] == "123456789012" and identity["Arn"].endswith(":user/cellbook-test"),
      "GetCallerIdentity signed with the new key: " + identity["Arn"])
role = iam.get_role(RoleName="sagemaker_execution_role")["Role"]["Arn"]
check(role == "arn:aws:iam::123456789012:role/sagemaker_execution_role", "IAM GetRole finds the execution role")
bucket = "sagemaker-us-east-1-123456789012"
check(error_code(lambda: s3.head_bucket(Bucket=bucket))[:2] == (404, "404"), "S3 HeadBucket on a missing bucket: 404")
s3.create_bucket(Bucket=bucket)
check(error_code(lambda: s3.head_bucket(Bucket=bucket))[0] == 200, "S3 CreateBucket then HeadBucket: 200")
sm.create_model(ModelName="probe", ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE})
status, code, message = error_code(lambda: sm.create_endpoint_config(EndpointConfigName="probe-g5", ProductionVariants=[{
    "VariantName": "AllTraffic", "ModelName": "probe", "InitialInstanceCount": 1, "InstanceType": "ml.g5.12xlarge"}]))
check((status, code) == (400, "ValidationException") and "ml.g5.12xlarge" in message,
      "moto rejects ml.g5.12xlarge in CreateEndpointConfig (ValidationException)")
arn = deploy(sm, role, "ml.g4dn.12xlarge")
described = sm.describe_endpoint(EndpointName="llama3-endpoint")
check(described["EndpointStatus"] == "InService", "moto: endpoint is InService at once")
check(arn == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llama3-endpoint", "moto: EndpointArn " + arn)
check([e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["llama3-endpoint"], "moto: ListEndpoints")
check(sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "created-by", "Value": "cellbook"}], "moto: ListTags")
request = urllib.request.Request(info["endpoint"] + "/moto-api/static/sagemaker/endpoint-results", method="POST",
                                 headers={"Content-Type": "application/json"},
                                 data=json.dumps({"account_id": "123456789012", "region": "us-east-1", "results": [
                                     {"Body": '{"choices":[{"message":{"content":"queued answer"}}]}',
                                      "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic",
                                      "CustomAttributes": ""}]}).encode())
urllib.request.urlopen(request).read()
answer = rt.invoke_endpoint(EndpointName="llama3-endpoint", Body=b'{"messages":[{"role":"user","content":"x"}]}',
                            ContentType="application/json")
check(b"queued answer" in answer["Body"].read(), "moto: InvokeEndpoint answers the queued result")
check(error_code(lambda: rt.invoke_endpoint_with_response_stream(
    EndpointName="llama3-endpoint", Body=b"{}", ContentType="application/json"))[0] == 404,
      "moto: InvokeEndpointWithResponseStream is not served (404)")
sm.delete_endpoint(EndpointName="llama3-endpoint")
status, code, message = error_code(lambda: sm.describe_endpoint(EndpointName="llama3-endpoint"))
check((status, code) == (400, "ValidationException") and message.startswith("Could not find endpoint"),
      "moto: DescribeEndpoint after DeleteEndpoint: 400 ValidationException " + message)
sm.delete_endpoint_config(EndpointConfigName="llama3-endpoint-config")
sm.delete_model(ModelName="llama3-endpoint-model")
check(error_code(lambda: sm.delete_model(ModelName="llama3-endpoint-model"))[1] == "ValidationException",
      "moto: deleting a missing model: ValidationException")
bad = clients(info["endpoint"], info["access_key_id"], "wrong-secret", attempts=1)
check(error_code(lambda: bad("sagemaker").list_endpoints())[0] == 403, "moto: wrong secret on SageMaker: 403")
check(error_code(lambda: bad("sts").get_caller_identity())[:2] == (403, "SignatureDoesNotMatch"),
      "moto: wrong secret on STS: 403 SignatureDoesNotMatch")
moto.stdin.close()
try:
    moto.wait(10)
    check(True, "moto exits when its stdin closes")
except subprocess.TimeoutExpired:
    moto.kill()
    check(False, "moto exits when its stdin closes")

# ---------------------------------------------------------------------------------- fake
print("-- fake_sagemaker.py")
KEY, SECRET = "AKIDFAKETEST", "fake/secret+key"
write_log = tempfile.NamedTemporaryFile(prefix="fake-sagemaker-", suffix=".log", delete=False).name
fake, info = start(["fake_sagemaker.py", "--access-key-id", KEY, "--secret-access-key", SECRET,
                    "--log-writes", write_log])
base = info["endpoint"]
check(set(info) == {"endpoint", "pid"}, "fake prints its JSON line: %s" % info)
make = clients(base, KEY, SECRET)
sm, rt = make("sagemaker"), make("sagemaker-runtime")
ROLE = "arn:aws:iam::123456789012:role/sagemaker_execution_role"


def scenario(body):
    request = urllib.request.Request(base + "/_fake/scenario", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request).read())


def fake_log():
    return json.loads(urllib.request.urlopen(base + "/_fake/log").read())["requests"]


scenario({"creating_polls": 2})
arn = deploy(sm, ROLE, "ml.g5.12xlarge", name="Llama3-Endpoint")
check(arn == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llama3-endpoint",
      "fake: ARNs name resources in lower case: " + arn)
statuses = [sm.describe_endpoint(EndpointName="Llama3-Endpoint")["EndpointStatus"] for _ in range(3)]
check(statuses == ["Creating", "Creating", "InService"], "fake: Creating for 2 polls, then InService: %s" % statuses)
check(sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "created-by", "Value": "cellbook"}], "fake: ListTags")
status, code, message = error_code(lambda: sm.create_endpoint(EndpointName="Llama3-Endpoint",
                                                              EndpointConfigName="Llama3-Endpoint-config"))
check(code == "ValidationException" and message.startswith("Cannot create already existing endpoint"),
      "fake: duplicate CreateEndpoint rejected: " + message)

# Streaming: botocore decodes the event stream; payloads are TGI's SSE, split awkwardly.
scenario({"runtime": {"payload_split": "awkward", "write_split": "awkward", "ttft_ms": 50, "itl_ms": 10}})
started = time.monotonic()
response = rt.invoke_endpoint_with_response_stream(EndpointName="Llama3-Endpoint", Body=json.dumps(CHAT),
                                                   ContentType="application/json", InferenceId="check-stream-1")
payload, parts, first_at = b"", 0, None
for event in response["Body"]:
    payload += event["PayloadPart"]["Bytes"]
    parts += 1
    first_at = first_at or time.monotonic()
text, done, usage = sse_text(payload)
check(response["ContentType"] == "text/event-stream" and response["InvokedProductionVariant"] == "AllTraffic",
      "fake stream: X-Amzn-SageMaker-Content-Type and x-Amzn-Invoked-Production-Variant headers")
check(done and usage and usage["completion_tokens"] == 12 and text,
      "fake stream: boto3 decodes %d PayloadParts into 12 tokens, usage and [DONE]: %r" % (parts, text))
check(first_at - started >= 0.045, "fake stream: first part after ttft_ms (%.0f ms)" % ((first_at - started) * 1000))
plain = rt.invoke_endpoint(EndpointName="Llama3-Endpoint", ContentType="application/json",
                           Body=json.dumps(dict(CHAT, stream=False)))
completion = json.loads(plain["Body"].read())
check(completion["object"] == "chat.completion" and completion["choices"][0]["message"]["content"] == text,
      "fake: InvokeEndpoint answers a chat.completion with the same deterministic text")
writes = [line.split() for line in open(write_log) if line.startswith("W check-stream-1 ")]
check(len(writes) == 12 and [int(w[2]) for w in writes] == list(range(12)),
      "fake: --log-writes has one W line per token for the request id (%d)" % len(writes))

# Mid-stream error event.
scenario({"runtime": {"error_after_tokens": 3, "ttft_ms": 5, "itl_ms": 2}})
response = rt.invoke_endpoint_with_response_stream(EndpointName="Llama3-Endpoint", Body=json.dumps(CHAT),
                                                   ContentType="application/json")
received = b""
try:
    for event in response["Body"]:
        received += event["PayloadPart"]["Bytes"]
    check(False, "fake: mid-stream ModelStreamError raises EventStreamError")
except EventStreamError as error:
    check(error.response["Error"]["Code"] == "ModelStreamError" and sse_text(received)[0].count(" ") >= 1,
          "fake: after 3 tokens boto3 raises EventStreamError ModelStreamError (%s)"
          % error.response["Error"].get("Message"))

# Runtime errors (rest-json with X-Amzn-ErrorType).
scenario({"faults": {"InvokeEndpoint": ["model_error"], "InvokeEndpointWithResponseStream": ["not_ready"]}})
status, code, message = error_code(lambda: rt.invoke_endpoint(EndpointName="x", Body=b"{}", ContentType="application/json"))
check((status, code) == (424, "ModelError"), "fake: model_error fault is 424 ModelError")
status, code, _ = error_code(lambda: rt.invoke_endpoint_with_response_stream(
    EndpointName="x", Body=b"{}", ContentType="application/json"))
check((status, code) == (429, "ModelNotReadyException"), "fake: not_ready fault is 429 ModelNotReadyException")

# Throttling, 503 and a dropped connection are retried by boto3 (standard mode, 3 attempts).
scenario({"faults": {"ListEndpoints": {"throttle": 2}, "DescribeEndpoint": ["unavailable", "drop"]}})
listed = sm.list_endpoints()
check(listed["ResponseMetadata"]["RetryAttempts"] == 2 and listed["Endpoints"],
      "fake: 2 ThrottlingExceptions, boto3 retries and succeeds (RetryAttempts=2)")
described = sm.describe_endpoint(EndpointName="Llama3-Endpoint")
check(described["ResponseMetadata"]["RetryAttempts"] == 2, "fake: 503 then a dropped connection, then success")
ops = [(e["op"], e["fault"], e["status"]) for e in fake_log()[-6:]]
check(ops == [("ListEndpoints", "throttle", 400), ("ListEndpoints", "throttle", 400), ("ListEndpoints", None, 200),
              ("DescribeEndpoint", "unavailable", 503), ("DescribeEndpoint", "drop", "dropped"),
              ("DescribeEndpoint", None, 200)],
      "fake: /_fake/log records ops, faults and statuses: %s" % ops)
no_retry = clients(base, KEY, SECRET, attempts=1)("sagemaker")
scenario({"faults": {"ListEndpoints": ["throttle"]}})
check(error_code(no_retry.list_endpoints)[:2] == (400, "ThrottlingException"),
      "fake: throttle fault is 400 ThrottlingException")

# Creating -> Failed.
scenario({"creating_polls": 1, "final_status": "Failed", "failure_reason": "CUDA out of memory (fake)"})
deploy(sm, ROLE, "ml.g5.2xlarge", name="doomed")
first = sm.describe_endpoint(EndpointName="doomed")
second = sm.describe_endpoint(EndpointName="doomed")
check(first["EndpointStatus"] == "Creating" and second["EndpointStatus"] == "Failed"
      and second["FailureReason"] == "CUDA out of memory (fake)", "fake: Creating -> Failed with FailureReason")

# Cleanup calls and their errors.
for call in (lambda: sm.delete_endpoint(EndpointName="Llama3-Endpoint"),
             lambda: sm.delete_endpoint_config(EndpointConfigName="Llama3-Endpoint-config"),
             lambda: sm.delete_model(ModelName="Llama3-Endpoint-model")):
    call()
status, code, message = error_code(lambda: sm.describe_endpoint(EndpointName="Llama3-Endpoint"))
check((status, code) == (400, "ValidationException") and message.startswith("Could not find endpoint"),
      "fake: DescribeEndpoint after delete: " + message)

# Signatures: a wrong secret, an unknown key.
bad = clients(base, KEY, "wrong", attempts=1)
status, code, _ = error_code(lambda: bad("sagemaker").list_endpoints())
check((status, code) == (403, "InvalidSignatureException"), "fake: wrong secret is 403 InvalidSignatureException")
status, code, _ = error_code(lambda: bad("sagemaker-runtime").invoke_endpoint(EndpointName="x", Body=b"{}",
                                                                             ContentType="application/json"))
check((status, code) == (403, "InvalidSignatureException"), "fake: wrong secret on the runtime too")
status, code, _ = error_code(lambda: clients(base, "AKIDOTHER", SECRET, attempts=1)("sagemaker").list_endpoints())
check((status, code) == (403, "UnrecognizedClientException"), "fake: unknown key is 403 UnrecognizedClientException")

status, code, message = error_code(lambda: boto3.client(
    "sagemaker", endpoint_url=base, region_name="eu-west-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET,
    config=Config(retries={"total_max_attempts": 1})).list_endpoints())
check((status, code) == (403, "InvalidSignatureException") and "region" in message,
      "fake: a signature scoped to eu-west-1 is rejected: " + message)
import datetime, unittest.mock
yesterday = datetime.datetime.utcnow() - datetime.timedelta(days=1)
with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=yesterday):
    status, code, message = error_code(lambda: clients(base, KEY, SECRET, attempts=1)("sagemaker").list_endpoints())
check((status, code) == (403, "InvalidSignatureException") and message.startswith("Signature expired"),
      "fake: a request signed a day ago is rejected: " + message[:60])

fake.send_signal(signal.SIGTERM)
try:
    fake.wait(10)
    check(True, "fake exits on SIGTERM")
except subprocess.TimeoutExpired:
    fake.kill()
    check(False, "fake exits on SIGTERM")
os.unlink(write_log)

print("%d passed, %d failed" % (passed, len(failed)))
sys.exit(1 if failed else 0)
PY
