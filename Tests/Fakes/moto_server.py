#!/usr/bin/env python3
"""moto (pip `moto[server]==5.2.1`) on a free loopback port, with signature checking ON.

moto checks signatures and IAM permissions only after INITIAL_NO_AUTH_ACTION_COUNT
unauthenticated actions (infinite by default). This launcher runs moto in-process,
bootstraps while checking is off, then switches it on, so that afterwards every request
must be SigV4-signed with the one real key it created:

  1. IAM CreateUser `cellbook-test`, PutUserPolicy allowing every action on every resource;
  2. IAM CreateAccessKey for that user (the key printed below);
  3. IAM CreateRole `sagemaker_execution_role` trusting sagemaker.amazonaws.com
     (what the tutorial falls back to for a plain IAM user);
  4. POST /moto-api/reset-auth with body "0": from now on moto checks every request.

It then proves the switch took: GetCallerIdentity signed with the new key must succeed,
with a wrong secret it must get 403 SignatureDoesNotMatch, with an unknown key 403
InvalidClientTokenId. If any of that fails it exits with status 1 and says why on stderr.

Then it prints ONE line of JSON to stdout and serves until its standard input closes or it
gets SIGTERM/SIGINT (so a test process that dies never leaves it running):

  {"endpoint": "http://127.0.0.1:PORT", "access_key_id": "AKIA...", "secret_access_key": "...",
   "region": "us-east-1", "account": "123456789012",
   "role_arn": "arn:aws:iam::123456789012:role/sagemaker_execution_role", "pid": 1234}

Point every service at "endpoint" (moto serves all services on one port and picks the
service from the SigV4 credential scope). See README.md beside this file for what moto
does and does not do for the SageMaker calls.
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.request

ACCOUNT = "123456789012"
REGION = "us-east-1"
USER_NAME = "cellbook-test"
ROLE_NAME = "sagemaker_execution_role"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def fail(message):
    print("moto_server.py: " + message, file=sys.stderr, flush=True)
    os._exit(1)


def client(service, endpoint, key_id, secret):
    import boto3
    from botocore.config import Config

    # No retries: a startup check must see the first answer, not a retried one.
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def bootstrap(endpoint):
    """Creates the user, key and role while moto still accepts anything; returns the key."""
    # Any well-formed signature passes before auth is on; these strings are never checked.
    iam = client("iam", endpoint, "AKIDBOOTSTRAP", "bootstrap-secret")
    iam.create_user(UserName=USER_NAME)
    iam.put_user_policy(UserName=USER_NAME, PolicyName="allow-everything", PolicyDocument=json.dumps(ALLOW_ALL))
    key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                           Description="execution role for cellbook's sagemaker target tests")["Role"]
    # Not form-encoded: werkzeug would parse a form body away and moto would read "" (500).
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            fail("POST /moto-api/reset-auth answered %d" % response.status)
    return key["AccessKeyId"], key["SecretAccessKey"], role["Arn"]


def verify_auth(endpoint, key_id, secret):
    """Fails loudly unless moto now accepts only correctly signed requests."""
    from botocore.exceptions import ClientError

    identity = client("sts", endpoint, key_id, secret).get_caller_identity()
    if identity.get("Account") != ACCOUNT:
        fail("GetCallerIdentity with the new key answered an unexpected account: %r" % identity)

    def expect_rejected(label, bad_key, bad_secret, codes):
        try:
            client("sts", endpoint, bad_key, bad_secret).get_caller_identity()
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            code = error.response["Error"]["Code"]
            if status != 403 or code not in codes:
                fail("%s: expected 403 %s, got %d %s" % (label, "/".join(codes), status, code))
            return
        fail("%s was accepted: signature checking is not on" % label)

    expect_rejected("a request signed with a wrong secret", key_id, secret + "x", ("SignatureDoesNotMatch",))
    expect_rejected("a request signed with an unknown key", "AKIAUNKNOWNKEY000000", secret, ("InvalidClientTokenId",))


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1] + "\nExample:\n  python3 Tests/Fakes/moto_server.py   "
               "(read the JSON line; close stdin or send SIGTERM to stop it)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr (werkzeug's log)")
    parser.add_argument("--no-stdin-watch", action="store_true",
                        help="do not exit when stdin closes (for running by hand in the background)")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.ERROR)
    # A parent may start us with these blocked or ignored (test runners do); we must stop on them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: os._exit(0))
    if not args.no_stdin_watch:
        threading.Thread(target=exit_on_stdin_eof, daemon=True, name="stdin-watch").start()

    # moto reads this once at import; "inf" keeps checking off until reset-auth turns it on.
    os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        fail("cannot import moto (%s); install it with: python3 -m pip install 'moto[server]==5.2.1'" % error)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = "http://127.0.0.1:%d" % port

    try:
        key_id, secret, role_arn = bootstrap(endpoint)
        verify_auth(endpoint, key_id, secret)
    except SystemExit:
        raise
    except Exception as error:  # any surprise at startup must be loud, not a half-ready server
        fail("bootstrap failed: %s: %s" % (type(error).__name__, error))

    print(json.dumps({"endpoint": endpoint, "access_key_id": key_id, "secret_access_key": secret,
                      "region": REGION, "account": ACCOUNT, "role_arn": role_arn, "pid": os.getpid()}),
          flush=True)
    threading.Event().wait()  # serve until stdin EOF or a signal ends the process


if __name__ == "__main__":
    main()
