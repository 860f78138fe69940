#!/usr/bin/env python3
"""A small fake Amazon SageMaker (control plane + runtime) for what moto cannot serve.

moto 5.2.1 makes every endpoint InService at once, accepts duplicate creates, cannot
throttle, and does not serve InvokeEndpointWithResponseStream. This fake speaks the real
wire formats for the calls cellbook's sagemaker target makes, with knobs for those cases.

Every request (except /_fake/*) must carry a SigV4 signature for service "sagemaker" made
with the key given on the command line; the fake recomputes it independently with
botocore (only over the headers the client listed in SignedHeaders) and answers a mismatch
with 403 {"__type": "InvalidSignatureException", "message": ...}: a second, independent
verifier of cellbook's signer.

Routes
  POST /   X-Amz-Target: SageMaker.<Op>, application/x-amz-json-1.1 (JSON 1.1 protocol):
           CreateModel DescribeModel DeleteModel CreateEndpointConfig DescribeEndpointConfig
           DeleteEndpointConfig CreateEndpoint DescribeEndpoint ListEndpoints DeleteEndpoint
           ListTags
  POST /endpoints/{name}/invocations                  (InvokeEndpoint) one chat.completion
  POST /endpoints/{name}/invocations-response-stream  (InvokeEndpointWithResponseStream)
           application/vnd.amazon.eventstream; PayloadPart payloads concatenate to TGI's SSE
           chat stream (data: {chat.completion.chunk}, optional usage chunk, data: [DONE])
  POST /_fake/scenario   replace the scenario with the JSON body (resets fault counters)
  GET  /_fake/scenario   the scenario in force, defaults filled in
  GET  /_fake/log        {"requests": [...]}: op, path, status, fault, times, signature result
  GET  /_fake/state      models, endpoint configs and endpoints held in memory

Scenario (JSON, --scenario FILE or POST /_fake/scenario; every key optional):
  creating_polls      DescribeEndpoint answers Creating this many times per endpoint (0)
  final_status        status after that: "InService" or "Failed" ("InService")
  failure_reason      FailureReason when Failed
  deleting_polls      DescribeEndpoint answers Deleting this many times after DeleteEndpoint (0)
  quota_exceeded_instance_types  CreateEndpoint with these types fails ResourceLimitExceeded
  preexisting_endpoints          names of endpoints (with model and config) InService at start
  strict_endpoints    runtime calls to unknown or not-InService endpoints fail 400 (false)
  max_clock_skew_s    X-Amz-Date further than this from now: 403 "Signature expired" (900)
  faults              {"<Op>": [fault, ...]}: the i-th request of <Op> gets the i-th fault
  delays              {"<Op>": ms}: every request of <Op> is answered after ms (and still takes effect)
                      (null = answer normally); or {"<Op>": {"<fault>": K}} for the first K.
                      Faults: throttle (400 ThrottlingException "Rate exceeded"),
                      unavailable (503 ServiceUnavailable), internal (500 InternalFailure),
                      drop (close the connection without answering), and for the runtime
                      ops model_error (424 ModelError), not_ready (429 ModelNotReadyException),
                      validation (400 ValidationError). Op names: the control-plane names
                      above, InvokeEndpoint, InvokeEndpointWithResponseStream.
  runtime             how the model answers:
    tokens            tokens to generate (default: the request's max_tokens, else 16;
                      never more than max_tokens)
    ttft_ms, itl_ms   delay before the first token, then between tokens (20, 5)
    text              text to cut into tokens (default: deterministic words picked from a
                      hash of the prompt, with multi-byte UTF-8 characters among them)
    data_space        "data: " (true) or TGI's "data:" (false)                      (true)
    include_usage     true/false forces the usage chunk; null follows stream_options (null)
    payload_split     how SSE bytes become PayloadPart payloads:
                      "event" one SSE event per part; "awkward" cycles through a split
                      mid-UTF-8 character (or mid-line) sent as two parts, a part holding
                      back the tail of a line, and a part holding several lines;
                      "bytes:N" fixed N-byte parts; "merge:N" N events per part ("event")
    write_split       how event-stream frames become HTTP chunk writes (each flushed):
                      "frame" one write per frame; "awkward" frames cut mid-prelude, after
                      the prelude CRC, mid-headers and mid-CRC, and frames sent together
                      joined across their boundary; "bytes:N" N-byte writes   ("frame")
    write_pause_ms    pause between the writes of one split frame, so reads see them apart (1)
    error_after_tokens  after N tokens send an exception event and end the stream (null)
    error_type        ModelStreamError or InternalStreamFailure         ("ModelStreamError")
    error_code        ErrorCode in its payload              ("ModelInvocationTimeExceeded")
    error_message     Message in its payload
    drop_after_tokens after N tokens close the connection mid-body (null)

Write log (--log-writes FILE), one line per event, CLOCK_MONOTONIC ns (time.monotonic_ns,
what clock_gettime(CLOCK_MONOTONIC) reads in Swift), the same format as
scripts/bench/fake_tgi_server.py:
  R <request-id> <t>          request fully read
  H <request-id> <t>          response head written
  W <request-id> <seq> <t>    token <seq> (0-based) complete at the client: the write that
                              finished the last frame carrying its bytes has been flushed
  E <request-id> <kind> <t>   end: done | error | disconnect | status
The request id is the X-Amzn-SageMaker-Inference-Id header, else X-Request-Id, else
"srv-<n>"; it is also answered in x-amzn-RequestId.

On start it prints one JSON line: {"endpoint": "http://127.0.0.1:PORT", "pid": N}, and
serves until its standard input closes or it gets SIGTERM/SIGINT.
"""

import argparse
import binascii
import copy
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICE = "sagemaker"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SIGV4_TIME_FORMAT = "%Y%m%dT%H%M%SZ"

DEFAULT_SCENARIO = {
    "creating_polls": 0,
    "final_status": "InService",
    "failure_reason": "The primary container for production variant AllTraffic did not pass the ping "
                      "health check. Please check CloudWatch logs for this endpoint.",
    "deleting_polls": 0,
    "quota_exceeded_instance_types": [],
    "preexisting_endpoints": [],
    "strict_endpoints": False,
    "max_clock_skew_s": 900,
    "faults": {},
    "delays": {},
    "runtime": {
        "tokens": None,
        "ttft_ms": 20,
        "itl_ms": 5,
        "text": None,
        "data_space": True,
        "include_usage": None,
        "payload_split": "event",
        "write_split": "frame",
        "write_pause_ms": 1,
        "error_after_tokens": None,
        "error_type": "ModelStreamError",
        "error_code": "ModelInvocationTimeExceeded",
        "error_message": "Model invocation time exceeded the limit of 60 seconds.",
        "drop_after_tokens": None,
    },
}

CONTROL_FAULTS = ("throttle", "unavailable", "internal", "drop")
RUNTIME_FAULTS = CONTROL_FAULTS + ("model_error", "not_ready", "validation")

# Words for the prompt-derived text; some carry 2-, 3- and 4-byte UTF-8 characters so that
# payload splits land inside a character.
WORDS = [" the", " llama", " café", " runs", " on", " naïve", " GPUs", " —", " fast", " and",
         " “quietly”", " 🦙", " tokens", " stream", " über", " cloud", " while", " we", " wait", "."]


# -- AWS event stream framing (application/vnd.amazon.eventstream) -----------------------------

def encode_header(name, value):
    """A string header (type 7): name_len u8, name, 7, value_len u16, value."""
    n = name.encode()
    v = value.encode()
    return struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def encode_message(headers, payload):
    """One event-stream message: prelude (total, headers length, CRC), headers, payload, CRC."""
    hdr = b"".join(encode_header(k, v) for k, v in headers)
    total = 12 + len(hdr) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hdr))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + hdr + payload
    return body + struct.pack(">I", binascii.crc32(body) & 0xFFFFFFFF)


def payload_part(payload):
    return encode_message([(":event-type", "PayloadPart"), (":content-type", "application/octet-stream"),
                           (":message-type", "event")], payload)


def exception_message(exception_type, error_code, message):
    payload = json.dumps({"Message": message, "ErrorCode": error_code}).encode()
    return encode_message([(":exception-type", exception_type), (":content-type", "application/json"),
                           (":message-type", "exception")], payload)


# -- SigV4 verification ------------------------------------------------------------------------

class SignatureRejected(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type
        self.message = message


AUTH_PATTERN = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$")


class SigV4Verifier:
    """Recomputes a request's SigV4 signature with botocore over the headers the client signed."""

    def __init__(self, access_key_id, secret_access_key, region=REGION, service=SERVICE):
        from botocore.auth import SigV4Auth
        from botocore.compat import HTTPHeaders
        from botocore.credentials import Credentials

        self.access_key_id = access_key_id
        self.region = region
        self.service = service
        credentials = Credentials(access_key_id, secret_access_key)

        class SignedHeadersOnly(SigV4Auth):
            # botocore signs every header it has; a server must use exactly the client's list.
            def headers_to_sign(inner_self, request):
                header_map = HTTPHeaders()
                for name, value in request.received_headers:
                    if name.lower() in request.signed_header_names:
                        header_map[name.lower()] = value
                return header_map

        self.signer = SignedHeadersOnly(credentials, service, region)

    def verify(self, method, raw_path, headers, body, max_skew_s):
        """headers: list of (name, value) as received. Raises SignatureRejected."""
        from botocore.awsrequest import AWSRequest

        authorization = [v for k, v in headers if k.lower() == "authorization"]
        if not authorization:
            raise SignatureRejected("MissingAuthenticationTokenException", "Missing Authentication Token")
        match = AUTH_PATTERN.match(authorization[0].strip())
        if not match:
            raise SignatureRejected("IncompleteSignatureException",
                                    "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                                    "with algorithm AWS4-HMAC-SHA256. Authorization=" + authorization[0])
        parts = match.group("credential").split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise SignatureRejected("IncompleteSignatureException",
                                    "Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request, got "
                                    + match.group("credential"))
        key_id, scope_date, region, service, _ = parts
        if key_id != self.access_key_id:
            raise SignatureRejected("UnrecognizedClientException", "The security token included in the request is invalid.")
        if region != self.region:
            raise SignatureRejected("InvalidSignatureException",
                                    "Credential should be scoped to a valid region. (got '%s', expected '%s')"
                                    % (region, self.region))
        if service != self.service:
            raise SignatureRejected("InvalidSignatureException",
                                    "Credential should be scoped to correct service: '%s'. (got '%s')"
                                    % (self.service, service))
        signed = match.group("signed").split(";")
        if signed != sorted(signed) or any(s != s.lower() for s in signed):
            raise SignatureRejected("InvalidSignatureException",
                                    "SignedHeaders must be lower-case and sorted, got " + match.group("signed"))
        received = {k.lower() for k, _ in headers}
        missing = [s for s in signed if s not in received]
        if missing:
            raise SignatureRejected("InvalidSignatureException",
                                    "SignedHeaders lists headers the request does not carry: " + ", ".join(missing))
        if "host" not in signed:
            raise SignatureRejected("InvalidSignatureException",
                                    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        amz_date = [v for k, v in headers if k.lower() == "x-amz-date"]
        if not amz_date:
            raise SignatureRejected("IncompleteSignatureException", "The request must carry an X-Amz-Date header.")
        amz_date = amz_date[0].strip()
        try:
            when = datetime.datetime.strptime(amz_date, SIGV4_TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise SignatureRejected("IncompleteSignatureException",
                                    "X-Amz-Date must look like 20150830T123600Z, got " + amz_date)
        if scope_date != amz_date[:8]:
            raise SignatureRejected("InvalidSignatureException",
                                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                                    "date from HTTP: '%s' != '%s'" % (scope_date, amz_date[:8]))
        now = datetime.datetime.now(datetime.timezone.utc)
        if abs((now - when).total_seconds()) > max_skew_s:
            raise SignatureRejected("InvalidSignatureException",
                                    "Signature expired: %s is now earlier than %s (%s - %d min.)"
                                    % (amz_date, (now - datetime.timedelta(seconds=max_skew_s)).strftime(SIGV4_TIME_FORMAT),
                                       now.strftime(SIGV4_TIME_FORMAT), max_skew_s // 60))
        content_sha = [v for k, v in headers if k.lower() == "x-amz-content-sha256"]
        if content_sha and content_sha[0].strip() not in ("UNSIGNED-PAYLOAD", hashlib.sha256(body).hexdigest()):
            raise SignatureRejected("InvalidSignatureException",
                                    "The provided 'x-amz-content-sha256' header does not match what was computed.")

        host = [v for k, v in headers if k.lower() == "host"][0]
        request = AWSRequest(method=method, url="http://%s%s" % (host.strip(), raw_path), data=body,
                             headers={k: v for k, v in headers})
        request.received_headers = headers
        request.signed_header_names = set(signed)
        request.context["timestamp"] = amz_date
        canonical_request = self.signer.canonical_request(request)
        string_to_sign = self.signer.string_to_sign(request, canonical_request)
        expected = self.signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, match.group("signature")):
            raise SignatureRejected(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
                "The Canonical String for this request should have been\n'%s'\n\n"
                "The String-to-Sign should have been\n'%s'\n" % (canonical_request, string_to_sign))


# -- scenario and state ------------------------------------------------------------------------

def merged_scenario(overrides):
    scenario = copy.deepcopy(DEFAULT_SCENARIO)
    unknown = []
    for key, value in (overrides or {}).items():
        if key == "runtime":
            for rkey, rvalue in (value or {}).items():
                if rkey not in scenario["runtime"]:
                    unknown.append("runtime." + rkey)
                scenario["runtime"][rkey] = rvalue
        elif key == "reset_state":
            scenario[key] = bool(value)
        else:
            if key not in scenario:
                unknown.append(key)
            scenario[key] = value
    if unknown:
        raise ValueError("unknown scenario keys: " + ", ".join(sorted(unknown)))
    faults = {}
    for op, plan in (scenario["faults"] or {}).items():
        if isinstance(plan, dict):
            plan = [kind for kind, count in plan.items() for _ in range(int(count))]
        allowed = RUNTIME_FAULTS if op.startswith("InvokeEndpoint") else CONTROL_FAULTS
        for kind in plan:
            if kind not in allowed and kind not in (None, "ok"):
                raise ValueError("fault %r for %s is not one of %s" % (kind, op, ", ".join(allowed)))
        faults[op] = list(plan)
    scenario["faults"] = faults
    if scenario["final_status"] not in ("InService", "Failed"):
        raise ValueError("final_status must be InService or Failed")
    return scenario


def arn(kind, name):
    # AWS lower-cases resource names in SageMaker ARNs.
    return "arn:aws:sagemaker:%s:%s:%s/%s" % (REGION, ACCOUNT, kind, name.lower())


class ApiError(Exception):
    def __init__(self, status, error_type, message, extra=None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.extra = extra or {}


def validation(message):
    return ApiError(400, "ValidationException", message)


class ControlPlane:
    """In-memory models, endpoint configs and endpoints, with AWS's answers and errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.models = {}
        self.configs = {}
        self.endpoints = {}

    def reset(self):
        with self.lock:
            self.models.clear()
            self.configs.clear()
            self.endpoints.clear()

    def add_preexisting(self, names):
        for name in names:
            with self.lock:
                now = time.time()
                self.models.setdefault(name, {"ModelName": name, "ModelArn": arn("model", name), "CreationTime": now,
                                              "ExecutionRoleArn": "arn:aws:iam::%s:role/sagemaker_execution_role" % ACCOUNT,
                                              "PrimaryContainer": {"Image": "fake"}, "Tags": []})
                self.configs.setdefault(name, {"EndpointConfigName": name, "EndpointConfigArn": arn("endpoint-config", name),
                                               "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name,
                                                                       "InitialInstanceCount": 1,
                                                                       "InstanceType": "ml.g4dn.12xlarge",
                                                                       "InitialVariantWeight": 1.0}],
                                               "CreationTime": now, "Tags": []})
                self.endpoints.setdefault(name, {"EndpointName": name, "EndpointArn": arn("endpoint", name),
                                                 "EndpointConfigName": name, "CreationTime": now,
                                                 "LastModifiedTime": now, "status": "InService",
                                                 "creating_left": 0, "deleting_left": None,
                                                 "final_status": "InService", "failure_reason": None, "Tags": []})

    @staticmethod
    def require_name(body, key, field):
        name = body.get(key)
        if not isinstance(name, str) or not name:
            raise validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                             "Member must not be null" % field)
        if not NAME_PATTERN.match(name):
            raise validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member "
                             "must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
                             % (name, field))
        return name

    def call(self, op, body, scenario):
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            raise ApiError(400, "UnknownOperationException", "Operation SageMaker.%s is not served by this fake." % op)
        with self.lock:
            return handler(body, scenario)

    # Models
    def op_CreateModel(self, body, scenario):
        name = self.require_name(body, "ModelName", "modelName")
        if not body.get("ExecutionRoleArn"):
            raise validation("1 validation error detected: Value null at 'executionRoleArn' failed to satisfy "
                             "constraint: Member must not be null")
        if name in self.models:
            raise validation('Cannot create already existing model "%s".' % arn("model", name))
        self.models[name] = {"ModelName": name, "ModelArn": arn("model", name), "CreationTime": time.time(),
                             "ExecutionRoleArn": body["ExecutionRoleArn"],
                             "PrimaryContainer": body.get("PrimaryContainer", {}), "Tags": body.get("Tags") or []}
        return {"ModelArn": arn("model", name)}

    def op_DescribeModel(self, body, scenario):
        name = self.require_name(body, "ModelName", "modelName")
        model = self.models.get(name)
        if model is None:
            raise validation('Could not find model "%s".' % arn("model", name))
        return {k: v for k, v in model.items() if k != "Tags"}

    def op_DeleteModel(self, body, scenario):
        name = self.require_name(body, "ModelName", "modelName")
        if self.models.pop(name, None) is None:
            raise validation('Could not find model "%s".' % arn("model", name))
        return {}

    # Endpoint configs
    def op_CreateEndpointConfig(self, body, scenario):
        name = self.require_name(body, "EndpointConfigName", "endpointConfigName")
        variants = body.get("ProductionVariants")
        if not isinstance(variants, list) or not variants:
            raise validation("1 validation error detected: Value null at 'productionVariants' failed to satisfy "
                             "constraint: Member must not be null")
        for variant in variants:
            model = variant.get("ModelName")
            if model not in self.models:
                raise validation('Could not find model "%s".' % arn("model", str(model)))
            timeout = variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
            if timeout is not None and not (60 <= int(timeout) <= 3600):
                raise validation("1 validation error detected: Value '%s' at 'productionVariants.1.member."
                                 "containerStartupHealthCheckTimeoutInSeconds' failed to satisfy constraint: Member "
                                 "must have value between 60 and 3600" % timeout)
        if name in self.configs:
            raise validation('Cannot create already existing endpoint configuration "%s".' % arn("endpoint-config", name))
        self.configs[name] = {"EndpointConfigName": name, "EndpointConfigArn": arn("endpoint-config", name),
                              "ProductionVariants": variants, "CreationTime": time.time(),
                              "Tags": body.get("Tags") or []}
        return {"EndpointConfigArn": arn("endpoint-config", name)}

    def op_DescribeEndpointConfig(self, body, scenario):
        name = self.require_name(body, "EndpointConfigName", "endpointConfigName")
        config = self.configs.get(name)
        if config is None:
            raise validation('Could not find endpoint configuration "%s".' % arn("endpoint-config", name))
        return {k: v for k, v in config.items() if k != "Tags"}

    def op_DeleteEndpointConfig(self, body, scenario):
        name = self.require_name(body, "EndpointConfigName", "endpointConfigName")
        if self.configs.pop(name, None) is None:
            raise validation('Could not find endpoint configuration "%s".' % arn("endpoint-config", name))
        return {}

    # Endpoints
    def op_CreateEndpoint(self, body, scenario):
        name = self.require_name(body, "EndpointName", "endpointName")
        config_name = self.require_name(body, "EndpointConfigName", "endpointConfigName")
        config = self.configs.get(config_name)
        if config is None:
            raise validation('Could not find endpoint configuration "%s".' % arn("endpoint-config", config_name))
        if name in self.endpoints:
            raise validation('Cannot create already existing endpoint "%s".' % arn("endpoint", name))
        for variant in config["ProductionVariants"]:
            instance_type = variant.get("InstanceType")
            if instance_type in (scenario["quota_exceeded_instance_types"] or []):
                raise ApiError(400, "ResourceLimitExceeded",
                               "The account-level service limit '%s for endpoint usage' is 0 Instances, with current "
                               "utilization of 0 Instances and a request delta of %s Instances. Please use AWS Service "
                               "Quotas to request an increase for this quota. If AWS Service Quotas is not available, "
                               "contact AWS support to request an increase for this quota."
                               % (instance_type, variant.get("InitialInstanceCount", 1)))
        now = time.time()
        self.endpoints[name] = {"EndpointName": name, "EndpointArn": arn("endpoint", name),
                                "EndpointConfigName": config_name, "CreationTime": now, "LastModifiedTime": now,
                                "status": "Creating", "creating_left": int(scenario["creating_polls"]),
                                "deleting_left": None, "final_status": scenario["final_status"],
                                "failure_reason": scenario["failure_reason"], "Tags": body.get("Tags") or []}
        if self.endpoints[name]["creating_left"] <= 0:
            self.finish_creating(self.endpoints[name])
        return {"EndpointArn": arn("endpoint", name)}

    @staticmethod
    def finish_creating(endpoint):
        endpoint["status"] = endpoint["final_status"]
        endpoint["LastModifiedTime"] = time.time()

    def describe(self, endpoint):
        described = {"EndpointName": endpoint["EndpointName"], "EndpointArn": endpoint["EndpointArn"],
                     "EndpointConfigName": endpoint["EndpointConfigName"], "EndpointStatus": endpoint["status"],
                     "CreationTime": endpoint["CreationTime"], "LastModifiedTime": endpoint["LastModifiedTime"]}
        config = self.configs.get(endpoint["EndpointConfigName"]) or {"ProductionVariants": []}
        if endpoint["status"] == "InService":
            described["ProductionVariants"] = [
                {"VariantName": v.get("VariantName", "AllTraffic"),
                 "DeployedImages": [{"SpecifiedImage": (self.models.get(v.get("ModelName")) or {})
                                     .get("PrimaryContainer", {}).get("Image", ""),
                                     "ResolutionTime": endpoint["LastModifiedTime"]}],
                 "CurrentWeight": float(v.get("InitialVariantWeight", 1.0)),
                 "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
                 "CurrentInstanceCount": int(v.get("InitialInstanceCount", 1)),
                 "DesiredInstanceCount": int(v.get("InitialInstanceCount", 1))}
                for v in config["ProductionVariants"]]
        if endpoint["status"] == "Failed":
            described["FailureReason"] = endpoint["failure_reason"]
        return described

    def op_DescribeEndpoint(self, body, scenario):
        name = self.require_name(body, "EndpointName", "endpointName")
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise validation('Could not find endpoint "%s".' % arn("endpoint", name))
        answer = self.describe(endpoint)
        # Each poll moves the endpoint along, so tests control how many polls a transition takes.
        if endpoint["status"] == "Creating":
            endpoint["creating_left"] -= 1
            if endpoint["creating_left"] <= 0:
                self.finish_creating(endpoint)
        elif endpoint["status"] == "Deleting":
            endpoint["deleting_left"] -= 1
            if endpoint["deleting_left"] <= 0:
                del self.endpoints[name]
        return answer

    def op_DeleteEndpoint(self, body, scenario):
        name = self.require_name(body, "EndpointName", "endpointName")
        endpoint = self.endpoints.get(name)
        if endpoint is None or endpoint["status"] == "Deleting":
            raise validation('Could not find endpoint "%s".' % arn("endpoint", name))
        polls = int(scenario["deleting_polls"])
        if polls <= 0:
            del self.endpoints[name]
        else:
            endpoint["status"] = "Deleting"
            endpoint["deleting_left"] = polls
            endpoint["LastModifiedTime"] = time.time()
        return {}

    def op_ListEndpoints(self, body, scenario):
        rows = list(self.endpoints.values())
        if body.get("NameContains"):
            rows = [e for e in rows if body["NameContains"] in e["EndpointName"]]
        if body.get("StatusEquals"):
            rows = [e for e in rows if e["status"] == body["StatusEquals"]]
        key = {"Name": "EndpointName", "Status": "status"}.get(body.get("SortBy"), "CreationTime")
        rows.sort(key=lambda e: e[key], reverse=body.get("SortOrder", "Descending") == "Descending")
        start = int(body.get("NextToken") or 0)
        limit = int(body.get("MaxResults") or 100)
        page = rows[start:start + limit]
        answer = {"Endpoints": [{"EndpointName": e["EndpointName"], "EndpointArn": e["EndpointArn"],
                                 "CreationTime": e["CreationTime"], "LastModifiedTime": e["LastModifiedTime"],
                                 "EndpointStatus": e["status"]} for e in page]}
        if start + limit < len(rows):
            answer["NextToken"] = str(start + limit)
        return answer

    def _list_named(self, table, body, name_key, arn_key, list_key):
        rows = sorted(table.values(), key=lambda item: item["CreationTime"], reverse=True)
        if body.get("NameContains"):
            rows = [item for item in rows if body["NameContains"] in item[name_key]]
        start = int(body.get("NextToken") or 0)
        limit = int(body.get("MaxResults") or 100)
        answer = {list_key: [{name_key: item[name_key], arn_key: item[arn_key], "CreationTime": item["CreationTime"]}
                             for item in rows[start:start + limit]]}
        if start + limit < len(rows):
            answer["NextToken"] = str(start + limit)
        return answer

    def op_ListModels(self, body, scenario):
        return self._list_named(self.models, body, "ModelName", "ModelArn", "Models")

    def op_ListEndpointConfigs(self, body, scenario):
        return self._list_named(self.configs, body, "EndpointConfigName", "EndpointConfigArn", "EndpointConfigs")

    def op_ListTags(self, body, scenario):
        resource_arn = body.get("ResourceArn")
        if not isinstance(resource_arn, str):
            raise validation("1 validation error detected: Value null at 'resourceArn' failed to satisfy constraint: "
                             "Member must not be null")
        wanted = resource_arn.lower()  # ARNs name resources in lower case; match either spelling
        for table in (self.endpoints, self.configs, self.models):
            for item in table.values():
                item_arn = item.get("EndpointArn") or item.get("EndpointConfigArn") or item.get("ModelArn")
                if item_arn == wanted:
                    return {"Tags": list(item["Tags"])}
        raise validation('Could not find resource "%s".' % resource_arn)

    def runtime_check(self, name, strict):
        if not strict:
            return
        with self.lock:
            endpoint = self.endpoints.get(name)
            if endpoint is None:
                raise ApiError(400, "ValidationError", "Endpoint %s of account %s not found." % (name, ACCOUNT))
            if endpoint["status"] != "InService":
                raise ApiError(400, "ValidationError", "Endpoint %s of account %s is not in service (status %s)."
                               % (name, ACCOUNT, endpoint["status"]))

    def snapshot(self):
        with self.lock:
            return {"models": sorted(self.models), "endpoint_configs": sorted(self.configs),
                    "endpoints": {n: e["status"] for n, e in self.endpoints.items()}}


# -- the model's answer ------------------------------------------------------------------------

def prompt_text(request):
    if isinstance(request.get("messages"), list):
        parts = []
        for message in request["messages"]:
            content = message.get("content", "") if isinstance(message, dict) else ""
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(str(content))
        return "\n".join(parts)
    return str(request.get("inputs", ""))


def generate_tokens(request, runtime):
    max_tokens = request.get("max_tokens")
    if max_tokens is None and isinstance(request.get("parameters"), dict):
        max_tokens = request["parameters"].get("max_new_tokens")
    count = runtime["tokens"] if runtime["tokens"] is not None else (max_tokens or 16)
    if max_tokens is not None:
        count = min(int(count), int(max_tokens))
    count = max(int(count), 0)
    if runtime["text"]:
        pieces = re.findall(r"\s*\S+", runtime["text"]) or [runtime["text"]]
        tokens = [pieces[i % len(pieces)] for i in range(count)]
    else:
        rng = random.Random(hashlib.sha256(prompt_text(request).encode()).digest())
        tokens = [rng.choice(WORDS) for _ in range(count)]
        if tokens:
            tokens[0] = rng.choice([w for w in WORDS if w[1:].isalpha()]).lstrip()
    finish = "length" if max_tokens is not None and count >= int(max_tokens) else "stop"
    return tokens, finish


def compact(value):
    """JSON as TGI (serde) writes it: no spaces, UTF-8 kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def prompt_token_count(request):
    return max(1, len(re.findall(r"\w+|[^\w\s]", prompt_text(request))))


class StreamPlan:
    """The SSE events of one streamed answer, each with the time (s after start) it is due."""

    def __init__(self, request, runtime, request_id):
        self.tokens, self.finish = generate_tokens(request, runtime)
        self.messages_api = "messages" in request
        prefix = b"data: " if runtime["data_space"] else b"data:"
        created = int(time.time())
        usage_wanted = runtime["include_usage"]
        if usage_wanted is None:
            usage_wanted = bool((request.get("stream_options") or {}).get("include_usage"))
        prompt_tokens = prompt_token_count(request)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(self.tokens),
                 "total_tokens": prompt_tokens + len(self.tokens)}
        ttft = float(runtime["ttft_ms"]) / 1000
        itl = float(runtime["itl_ms"]) / 1000
        # events: (due_s, sse_bytes, token_index or None)
        self.events = []
        base = {"object": "chat.completion.chunk", "id": "", "created": created,
                "model": request.get("model") or "tgi", "system_fingerprint": "2.0.0-sha-fake"}
        for index, token in enumerate(self.tokens):
            last = index == len(self.tokens) - 1
            if self.messages_api:
                chunk = dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": token},
                                             "logprobs": None, "finish_reason": self.finish if last else None}],
                             usage=None)
            else:  # TGI's generate_stream format for {"inputs": ...} requests
                chunk = {"index": index + 1, "token": {"id": 1000 + index, "text": token, "logprob": -0.5,
                                                         "special": False},
                         "generated_text": "".join(self.tokens) if last else None,
                         "details": {"finish_reason": self.finish, "generated_tokens": len(self.tokens),
                                     "seed": None} if last else None}
            data = prefix + compact(chunk) + b"\n\n"
            self.events.append((ttft + index * itl, data, index))
        end = ttft + max(len(self.tokens) - 1, 0) * itl
        if self.messages_api:
            if usage_wanted:
                self.events.append((end, prefix + compact(dict(base, choices=[], usage=usage)) + b"\n\n",
                                    None))
            self.events.append((end, prefix + b"[DONE]\n\n", None))


class PayloadSplitter:
    """Turns SSE events into PayloadPart payloads according to the payload_split knob."""

    def __init__(self, mode):
        self.mode = mode
        self.pending = b""
        self.count = 0
        kind, _, number = mode.partition(":")
        if kind not in ("event", "awkward", "bytes", "merge") or (kind in ("bytes", "merge") and not number.isdigit()):
            raise ValueError("payload_split must be event, awkward, bytes:N or merge:N, got %r" % mode)
        self.kind = kind
        self.number = int(number) if number else 0

    def feed(self, data):
        """Payloads to send now for this event's bytes; may hold some back."""
        k = self.count
        self.count += 1
        if self.kind == "event":
            return [data]
        if self.kind == "merge":
            self.pending += data
            if self.count % self.number == 0:
                out, self.pending = self.pending, b""
                return [out]
            return []
        if self.kind == "bytes":
            self.pending += data
            n = self.number
            full = len(self.pending) // n * n
            out = [self.pending[i:i + n] for i in range(0, full, n)]
            self.pending = self.pending[full:]
            return out
        # awkward: cycle through three shapes
        data, self.pending = self.pending + data, b""
        cut = self.awkward_cut(data)
        shape = k % 3
        if shape == 0:  # two parts sent back to back, cut inside a character or a line
            return [data[:cut], data[cut:]]
        if shape == 1:  # the tail of the line waits for the next event
            self.pending = data[cut:]
            return [data[:cut]]
        self.pending = data  # held whole: the next part carries several lines
        return []

    @staticmethod
    def awkward_cut(data):
        for i, byte in enumerate(data):
            if byte >= 0xC0:  # a UTF-8 lead byte: cut right after it
                return i + 1
        return max(1, len(data) // 2)

    def flush(self):
        out, self.pending = self.pending, b""
        return [out] if out else []


def write_cuts(frames, mode):
    """Offsets at which the concatenation of frames is cut into separate writes."""
    total = sum(len(f) for f in frames)
    kind, _, number = mode.partition(":")
    cuts = set()
    if kind == "frame":
        offset = 0
        for frame in frames:
            offset += len(frame)
            cuts.add(offset)
    elif kind == "bytes" and number.isdigit() and int(number) > 0:
        cuts.update(range(int(number), total, int(number)))
    elif kind == "awkward":
        offset = 0
        for i, frame in enumerate(frames):
            headers_length = struct.unpack(">I", frame[4:8])[0]
            for inner in (5, 11, 12 + headers_length // 2, len(frame) - 2):
                if 0 < inner < len(frame):
                    cuts.add(offset + inner)
            offset += len(frame)
            if i + 1 < len(frames):
                cuts.add(offset + 3)  # this write ends 3 bytes into the next frame's prelude
    else:
        raise ValueError("write_split must be frame, awkward or bytes:N, got %r" % mode)
    cuts.add(total)
    return sorted(c for c in cuts if 0 < c <= total)


# -- HTTP --------------------------------------------------------------------------------------

class WriteLog:
    """Buffered so logging stays off the write schedule; flushed at each request's end."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1 << 20) if path else None
        self.lock = threading.Lock()

    def write(self, line):
        if self.file is not None:
            with self.lock:
                self.file.write(line)

    def flush(self):
        if self.file is not None:
            with self.lock:
                self.file.flush()


class Fake:
    def __init__(self, args):
        self.verifier = None if args.no_verify else SigV4Verifier(args.access_key_id, args.secret_access_key)
        self.control = ControlPlane()
        self.write_log = WriteLog(args.log_writes)
        self.lock = threading.Lock()
        self.request_log = []
        self.op_counts = {}
        self.counter = 0
        self.scenario = merged_scenario({})
        if args.scenario:
            with open(args.scenario) as f:
                self.load_scenario(json.load(f))

    def load_scenario(self, overrides):
        scenario = merged_scenario(overrides)
        if scenario.pop("reset_state", False):
            self.control.reset()
        with self.lock:
            self.scenario = scenario
            self.op_counts = {}
        self.control.add_preexisting(scenario["preexisting_endpoints"] or [])

    def next_fault(self, op):
        with self.lock:
            n = self.op_counts.get(op, 0)
            self.op_counts[op] = n + 1
            plan = self.scenario["faults"].get(op, [])
            fault = plan[n] if n < len(plan) else None
            return None if fault == "ok" else fault

    def next_request_id(self, headers):
        for name in ("x-amzn-sagemaker-inference-id", "x-request-id"):
            value = headers.get(name)
            if value:
                return value
        with self.lock:
            self.counter += 1
            return "srv-%d" % self.counter


FAULT_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "unavailable": (503, "ServiceUnavailable", "The service is unavailable. Please try again later."),
    "internal": (500, "InternalFailure", "An internal error occurred. Please try again."),
    "not_ready": (429, "ModelNotReadyException", "Model is not ready yet; retry later."),
    "validation": (400, "ValidationError", "Received client error from the request (fake validation fault)."),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSageMaker/1.0"
    fake = None  # set in main

    def setup(self):
        super().setup()
        # Each event-stream write must leave at once, not wait for Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, content_type, extra_headers=()):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.entry["status"] = status  # before the answer leaves: a client may read /_fake/log at once
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", self.request_id)
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def error(self, status, error_type, message, rest_json, extra=None):
        body = dict(extra or {})
        if rest_json:
            body.setdefault("message", message)
            headers = [("X-Amzn-ErrorType", "%s:http://internal.amazon.com/coral/com.amazonaws.sagemaker/"
                        % error_type)]
            content_type = "application/json"
        else:
            body = {"__type": error_type, "message": message}
            headers = [("X-Amzn-ErrorType", error_type)]
            content_type = "application/x-amz-json-1.1"
        self.entry["error"] = error_type
        # Logged before the answer leaves, so a client that has it finds the line.
        self.fake.write_log.write("E %s status %d\n" % (self.request_id, time.monotonic_ns()))
        self.fake.write_log.flush()
        self.reply(status, body, content_type, headers)

    def drop(self):
        self.entry["status"] = "dropped"
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- routing ------------------------------------------------------------------------------

    def do_GET(self):
        self.request_id = "fake-%s" % uuid.uuid4()
        self.entry = {}
        path = urlsplit(self.path).path
        if path == "/_fake/log":
            with self.fake.lock:
                log = [dict(e) for e in self.fake.request_log]
            self.reply(200, {"requests": log}, "application/json")
        elif path == "/_fake/scenario":
            with self.fake.lock:
                scenario = copy.deepcopy(self.fake.scenario)
            self.reply(200, scenario, "application/json")
        elif path == "/_fake/state":
            self.reply(200, self.fake.control.snapshot(), "application/json")
        else:
            self.reply(404, {"message": "no route GET %s" % path}, "application/json")

    def do_POST(self):
        received_ns = time.monotonic_ns()
        body = self.read_body()
        raw_path = self.path
        path = urlsplit(raw_path).path
        headers_lower = {k.lower(): v for k, v in self.headers.items()}
        self.request_id = self.fake.next_request_id(headers_lower)
        self.entry = {}

        if path == "/_fake/scenario":
            try:
                self.fake.load_scenario(json.loads(body or b"{}"))
            except (ValueError, TypeError) as error:
                self.reply(400, {"message": str(error)}, "application/json")
                return
            self.reply(200, {"status": "ok"}, "application/json")
            return

        runtime_match = re.match(r"^/endpoints/([^/]+)/(invocations|invocations-response-stream)$", path)
        if runtime_match:
            endpoint_name = unquote(runtime_match.group(1))
            op = "InvokeEndpoint" if runtime_match.group(2) == "invocations" else "InvokeEndpointWithResponseStream"
        elif path == "/":
            target = headers_lower.get("x-amz-target", "")
            op = target.split(".", 1)[1] if target.startswith("SageMaker.") else (target or "(no X-Amz-Target)")
            endpoint_name = None
        else:
            op, endpoint_name = "(unknown route)", None
        rest_json = runtime_match is not None

        with self.fake.lock:
            self.entry = {"seq": len(self.fake.request_log), "op": op, "method": "POST", "path": path,
                          "request_id": self.request_id, "endpoint_name": endpoint_name,
                          "received_at": time.time(), "received_monotonic_ns": received_ns,
                          "status": None, "signature": None, "fault": None}
            self.fake.request_log.append(self.entry)
            scenario = self.fake.scenario
        self.fake.write_log.write("R %s %d\n" % (self.request_id, received_ns))

        if self.fake.verifier is not None:
            try:
                self.fake.verifier.verify("POST", raw_path, list(self.headers.items()), body,
                                          int(scenario["max_clock_skew_s"]))
                self.entry["signature"] = "ok"
            except SignatureRejected as rejection:
                self.entry["signature"] = "rejected: %s" % rejection.error_type
                status = 400 if rejection.error_type == "IncompleteSignatureException" else 403
                self.error(status, rejection.error_type, rejection.message, rest_json=False)
                return
        else:
            self.entry["signature"] = "not checked"

        if op.startswith("("):
            self.error(404 if not runtime_match and path != "/" else 400, "UnknownOperationException",
                       "No operation for POST %s with X-Amz-Target %r" % (path, headers_lower.get("x-amz-target")),
                       rest_json=False)
            return

        fault = self.fake.next_fault(op)
        self.entry["fault"] = fault
        # A slow answer, for a client to be killed while it waits (the call still takes effect).
        delay_ms = (self.fake.scenario.get("delays") or {}).get(op)
        if delay_ms:
            time.sleep(float(delay_ms) / 1000)
        if fault == "drop":
            self.drop()
            return
        if fault == "model_error":
            self.error(424, "ModelError", "Received server error (500) from primary with message "
                       "\"Request failed during generation: fake model error\". See "
                       "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:"
                       "group=/aws/sagemaker/Endpoints/%s in account %s for more information." % (endpoint_name, ACCOUNT),
                       rest_json=True,
                       extra={"Message": "Received server error (500) from primary with message "
                                         "\"Request failed during generation: fake model error\".",
                              "OriginalStatusCode": 500, "ErrorCode": "INTERNAL_FAILURE_FROM_MODEL",
                              "OriginalMessage": "Request failed during generation: fake model error",
                              "LogStreamArn": "arn:aws:logs:%s:%s:log-group:/aws/sagemaker/Endpoints/%s"
                                              % (REGION, ACCOUNT, endpoint_name)})
            return
        if fault in FAULT_ERRORS:
            status, error_type, message = FAULT_ERRORS[fault]
            self.error(status, error_type, message, rest_json)
            return

        if runtime_match:
            self.runtime(op, endpoint_name, body, scenario)
        else:
            self.control_plane(op, body, scenario)

    def control_plane(self, op, body, scenario):
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip() != "application/x-amz-json-1.1":
            self.error(400, "SerializationException",
                       "Content-Type must be application/x-amz-json-1.1, got %r" % content_type, rest_json=False)
            return
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as error:
            self.error(400, "SerializationException", "Request body is not a JSON object: %s" % error, rest_json=False)
            return
        try:
            answer = self.fake.control.call(op, request, scenario)
        except ApiError as error:
            self.error(error.status, error.error_type, error.message, rest_json=False)
            return
        self.fake.write_log.write("E %s done %d\n" % (self.request_id, time.monotonic_ns()))
        self.reply(200, answer, "application/x-amz-json-1.1")

    def runtime(self, op, endpoint_name, body, scenario):
        try:
            self.fake.control.runtime_check(endpoint_name, scenario["strict_endpoints"])
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ApiError as error:
            self.error(error.status, error.error_type, error.message, rest_json=True)
            return
        except ValueError as error:
            # What TGI answers for a body it cannot read, wrapped as SageMaker wraps model errors.
            self.error(424, "ModelError", "Received client error (422) from primary with message \"%s\"." % error,
                       rest_json=True, extra={"OriginalStatusCode": 422, "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                                              "OriginalMessage": "Failed to deserialize the JSON body: %s" % error})
            return
        runtime = scenario["runtime"]
        if op == "InvokeEndpoint":
            self.invoke(request, runtime)
        else:
            self.invoke_stream(request, runtime)

    def invoke(self, request, runtime):
        start = time.monotonic()
        tokens, finish = generate_tokens(request, runtime)
        delay = float(runtime["ttft_ms"]) / 1000 + max(len(tokens) - 1, 0) * float(runtime["itl_ms"]) / 1000
        time.sleep(max(0.0, start + delay - time.monotonic()))
        text = "".join(tokens)
        if "messages" in request:
            prompt_tokens = prompt_token_count(request)
            answer = {"object": "chat.completion", "id": "", "created": int(time.time()),
                      "model": request.get("model") or "tgi", "system_fingerprint": "2.0.0-sha-fake",
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                   "logprobs": None, "finish_reason": finish}],
                      "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                                "total_tokens": prompt_tokens + len(tokens)}}
        else:
            answer = [{"generated_text": text}]
        # One write carries head and body; logged just before it, so a client that has it finds the lines.
        log = self.fake.write_log
        now = time.monotonic_ns()
        log.write("H %s %d\nE %s done %d\n" % (self.request_id, now, self.request_id, now))
        log.flush()
        self.reply(200, compact(answer), "application/json",
                   [("x-Amzn-Invoked-Production-Variant", "AllTraffic")])

    def invoke_stream(self, request, runtime):
        log = self.fake.write_log
        rid = self.request_id
        try:
            plan = StreamPlan(request, runtime, rid)
            splitter = PayloadSplitter(str(runtime["payload_split"]))
            write_cuts([], str(runtime["write_split"]))  # validates the mode before answering
        except ValueError as error:
            self.error(400, "ValidationError", "fake scenario: %s" % error, rest_json=True)
            return
        pause = float(runtime["write_pause_ms"]) / 1000
        error_after = runtime["error_after_tokens"]
        drop_after = runtime["drop_after_tokens"]

        self.entry["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", rid)
        self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
        self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
        self.end_headers()
        self.wfile.flush()
        start = time.monotonic()
        log.write("H %s %d\n" % (rid, time.monotonic_ns()))

        # Token i is complete at the client once sse_delivered passes token_ends[i].
        token_ends = []
        offset = 0
        for _, data, token_index in plan.events:
            offset += len(data)
            if token_index is not None:
                token_ends.append(offset)
        state = {"delivered": 0, "logged": 0}

        def send(frames, payload_lengths):
            buffer = b"".join(frames)
            frame_ends = []
            end = 0
            for frame in frames:
                end += len(frame)
                frame_ends.append(end)
            previous = 0
            done_frames = 0
            for cut in write_cuts(frames, str(runtime["write_split"])):
                if previous:
                    time.sleep(pause)
                piece = buffer[previous:cut]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                now = time.monotonic_ns()
                previous = cut
                while done_frames < len(frames) and frame_ends[done_frames] <= cut:
                    state["delivered"] += payload_lengths[done_frames]
                    done_frames += 1
                while state["logged"] < len(token_ends) and token_ends[state["logged"]] <= state["delivered"]:
                    log.write("W %s %d %d\n" % (rid, state["logged"], now))
                    state["logged"] += 1

        def send_payloads(payloads):
            payloads = [p for p in payloads if p]
            if payloads:
                send([payload_part(p) for p in payloads], [len(p) for p in payloads])

        def ended(kind, note):
            # Flushed before the body's last byte, so a client that has read the whole stream sees it all.
            log.write("E %s %s %d\n" % (rid, kind, time.monotonic_ns()))
            log.flush()
            self.entry["stream_end"] = note

        try:
            tokens_sent = 0
            for i, (due, data, token_index) in enumerate(plan.events):
                if token_index is not None and error_after is not None and tokens_sent >= int(error_after):
                    send_payloads(splitter.flush())
                    frame = exception_message(runtime["error_type"], runtime["error_code"], runtime["error_message"])
                    # Logged before the frame leaves: boto3 raises as soon as it decodes it.
                    ended("error", "exception after %d tokens" % tokens_sent)
                    send([frame], [0])
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if token_index is not None and drop_after is not None and tokens_sent >= int(drop_after):
                    send_payloads(splitter.flush())
                    ended("disconnect", "dropped after %d tokens" % tokens_sent)
                    self.drop()
                    return
                time.sleep(max(0.0, start + due - time.monotonic()))
                payloads = splitter.feed(data)
                if i == len(plan.events) - 1:
                    payloads += splitter.flush()
                send_payloads(payloads)
                if token_index is not None:
                    tokens_sent += 1
            send_payloads(splitter.flush())
            ended("done", "done after %d tokens" % tokens_sent)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            log.write("E %s disconnect %d\n" % (rid, time.monotonic_ns()))
            self.entry["stream_end"] = "client went away"
            self.close_connection = True
        finally:
            log.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


# -- self-test ---------------------------------------------------------------------------------

def selftest():
    """Decodes the fake's own framing with botocore and checks its signature verifier."""
    from botocore.eventstream import EventStreamBuffer

    failures = []
    passed = [0]

    def check(condition, what):
        print(("ok   " if condition else "FAIL ") + what)
        if condition:
            passed[0] += 1
        else:
            failures.append(what)

    check(encode_message([], b"").hex() == "000000100000000005c248eb7d98c8ff",
          "empty message matches the reference bytes 00000010 00000000 05c248eb 7d98c8ff")

    runtime = dict(DEFAULT_SCENARIO["runtime"])
    request = {"messages": [{"role": "user", "content": "What is deep learning?"}], "max_tokens": 24,
               "stream": True, "stream_options": {"include_usage": True}}
    for payload_mode in ("event", "awkward", "bytes:7", "merge:3"):
        for write_mode in ("frame", "awkward", "bytes:5"):
            plan = StreamPlan(request, runtime, "selftest")
            splitter = PayloadSplitter(payload_mode)
            payloads = []
            for i, (_, data, _) in enumerate(plan.events):
                payloads += splitter.feed(data)
            payloads += splitter.flush()
            payloads = [p for p in payloads if p]
            frames = [payload_part(p) for p in payloads]
            frames.append(exception_message("ModelStreamError", "ModelInvocationTimeExceeded", "late"))
            wire = b"".join(frames)
            cuts = write_cuts(frames, write_mode)
            decoder = EventStreamBuffer()
            decoded = []
            previous = 0
            for cut in cuts:
                decoder.add_data(wire[previous:cut])
                previous = cut
                decoded.extend(decoder)
            expected_sse = b"".join(data for _, data, _ in plan.events)
            parts = [m for m in decoded if m.headers.get(":message-type") == "event"]
            joined = b"".join(m.payload for m in parts)
            good_headers = all(m.headers == {":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                                             ":message-type": "event"} for m in parts)
            last = decoded[-1] if decoded else None
            good_exception = (last is not None and last.headers.get(":exception-type") == "ModelStreamError"
                              and json.loads(last.payload)["ErrorCode"] == "ModelInvocationTimeExceeded")
            split_mid_char = any(p and (p[-1] >= 0xC0 or 0x80 <= p[0] < 0xC0) for p in payloads)
            check(len(decoded) == len(frames) and joined == expected_sse and good_headers and good_exception,
                  "payload_split=%-8s write_split=%-8s %3d parts in %3d writes decode to the SSE stream%s"
                  % (payload_mode, write_mode, len(payloads), len(cuts),
                     " (a part ends mid-character)" if split_mid_char else ""))
    sse = b"".join(data for _, data, _ in StreamPlan(request, runtime, "x").events).decode()
    check(sse.rstrip().endswith("data: [DONE]") and '"choices":[],"usage"' in sse,
          "stream ends with a usage chunk and data: [DONE]")

    # The verifier accepts what botocore signs and rejects a wrong secret or a changed body.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    verifier = SigV4Verifier("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    def signed(secret, body=b'{"EndpointName": "x"}'):
        request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body,
                             headers={"X-Amz-Target": "SageMaker.DescribeEndpoint",
                                      "Content-Type": "application/x-amz-json-1.1", "Host": "127.0.0.1:8080"})
        SigV4Auth(Credentials("AKIDEXAMPLE", secret), "sagemaker", REGION).add_auth(request)
        headers = list(request.headers.items()) + [("User-Agent", "added after signing"),
                                                    ("Content-Length", str(len(body)))]
        return headers, body

    def outcome(headers, body):
        try:
            verifier.verify("POST", "/", headers, body, 900)
            return "ok"
        except SignatureRejected as rejection:
            return rejection.error_type

    check(outcome(*signed("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")) == "ok", "verifier accepts botocore's signature")
    check(outcome(*signed("wrong")) == "InvalidSignatureException", "verifier rejects a wrong secret")
    headers, _ = signed("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    check(outcome(headers, b'{"EndpointName": "y"}') == "InvalidSignatureException", "verifier rejects a changed body")
    check(outcome([h for h in headers if h[0].lower() != "authorization"], b"") == "MissingAuthenticationTokenException",
          "verifier rejects a request without Authorization")
    print("selftest: %d passed, %d failed" % (passed[0], len(failures)))
    return 1 if failures else 0


# -- main --------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1] + "\nExample:\n  python3 Tests/Fakes/fake_sagemaker.py "
               "--access-key-id AKIDTEST --secret-access-key s3cret --scenario s.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one)")
    parser.add_argument("--access-key-id", help="the only access key id requests may be signed with")
    parser.add_argument("--secret-access-key", help="its secret, for recomputing signatures")
    parser.add_argument("--no-verify", action="store_true", help="accept requests without checking signatures")
    parser.add_argument("--scenario", help="JSON file with scenario knobs (see below)")
    parser.add_argument("--log-writes", metavar="FILE", help="append the write-time log (R/H/W/E lines) to FILE")
    parser.add_argument("--selftest", action="store_true",
                        help="check the event-stream framing with botocore's decoder and the verifier, then exit")
    parser.add_argument("--no-stdin-watch", action="store_true",
                        help="do not exit when stdin closes (for running by hand in the background)")
    args = parser.parse_args()

    if args.selftest:
        sys.exit(selftest())
    if not args.no_verify and not (args.access_key_id and args.secret_access_key):
        parser.error("give --access-key-id and --secret-access-key (or --no-verify)")

    try:
        fake = Fake(args)
    except (OSError, ValueError) as error:
        print("fake_sagemaker.py: bad scenario: %s" % error, file=sys.stderr)
        sys.exit(2)
    Handler.fake = fake
    server = Server(("127.0.0.1", args.port), Handler)

    def stop(*_):
        fake.write_log.flush()
        os._exit(0)

    # A parent may start us with these blocked or ignored (test runners do); we must stop on them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    if not args.no_stdin_watch:
        def exit_on_stdin_eof():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop()
        threading.Thread(target=exit_on_stdin_eof, daemon=True, name="stdin-watch").start()

    print(json.dumps({"endpoint": "http://127.0.0.1:%d" % server.server_address[1], "pid": os.getpid()}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
