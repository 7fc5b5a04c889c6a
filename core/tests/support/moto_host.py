"""moto in server mode for debpull's tests, driven by core/tests/support/moto.rs.

Run as `python3 -c <this file's text> [--auth] [--ignore-conditions]`. It starts moto's ThreadedMotoServer
on 127.0.0.1 with a port the kernel picks, prints one line

    ready PORT                                   (no-auth server)
    ready PORT KEY SECRET ROLE_KEY ROLE_SECRET ROLE_TOKEN DENIED_KEY DENIED_SECRET
                                                 (--auth)

and then reads commands from stdin, one per line, answering `ok [VALUE]` or
`err MESSAGE` on stdout:

    create_bucket NAME            a bucket in us-east-1
    public_read BUCKET PREFIX     a bucket policy: anonymous s3:GetObject/HeadObject on PREFIX*
                                  (PREFIX "-" means the whole bucket)
    reset                         POST /moto-api/reset (wipes every bucket, user and key)

Conditional writes are made atomic (see patch_atomic_writes). With
--ignore-conditions the server models an S3-compatible store without them: object
writes drop If-Match and If-None-Match before moto sees them.

At EOF on stdin (the Rust handle dropped, or the test process died however it
died) the process exits at once: the server never outlives its test binary.

With --auth, an IAM user allowed s3:* (its key is the one printed first), a role
allowed s3:* with a session of it from sts:AssumeRole (what an instance profile hands
out: key, secret and session token) and a user without any permission are created
while moto still accepts anything; then authentication is switched on (moto's
INITIAL_NO_AUTH_ACTION_COUNT, through /moto-api/reset-auth) and every request must
carry a valid SigV4 signature. Commands are then sent signed with the first user.

moto 5.2 answers an anonymous (unsigned) request on an auth-enabled server with a
500 (it looks for an Authorization header that is not there). A narrow patch below
gives S3's answer instead: anonymous GET/HEAD of an object readable by everyone (a
public-read ACL, or a bucket policy granting s3:GetObject to "*") is served; any
other anonymous request gets 403 AccessDenied. Requests with an Authorization
header go through moto's own checks untouched.
"""

import json
import logging
import os
import sys
import urllib.request

REGION = "us-east-1"
FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ALLOW_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)
EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def patch_atomic_writes():
    """S3's conditional writes are atomic; moto's are not (PutObject checks
    If-Match / If-None-Match, then writes, with other request threads free to
    write in between: two concurrent create-only writers could both win). One
    lock around every request on an object (reads included: moto stores a new
    object before setting its ACL and metadata, so an unlocked anonymous read
    could see it private for an instant) makes each one step, as on S3."""
    import functools
    import threading

    from moto.s3.responses import S3Response

    lock = threading.RLock()

    def serialised(method):
        @functools.wraps(method)
        def locked(*args, **kwargs):
            with lock:
                return method(*args, **kwargs)

        return locked

    for name in ("_key_response", "put_object", "_key_response_post", "delete_object"):
        setattr(S3Response, name, serialised(getattr(S3Response, name)))


def patch_ignore_conditions():
    """Object writes as a store without conditional writes does them."""
    from moto.s3.responses import S3Response

    for name in ("put_object", "_key_response_post"):
        original = getattr(S3Response, name)

        def unconditional(self, *args, _original=original, **kwargs):
            from werkzeug.datastructures import Headers

            headers = Headers(self.headers)
            headers.remove("If-Match")
            headers.remove("If-None-Match")
            self.headers = headers
            return _original(self, *args, **kwargs)

        setattr(S3Response, name, unconditional)


def patch_anonymous_access():
    """Anonymous GET/HEAD of publicly readable objects on an auth-enabled server."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import PermissionResult
    from moto.s3.exceptions import S3AccessDeniedError
    from moto.s3.responses import S3Response

    original = S3Response._authenticate_and_authorize_s3_action

    def readable(response, bucket_name, key_name):
        try:
            bucket = response.backend.get_bucket(bucket_name)
        except Exception:
            return False
        resource = f"arn:aws:s3:::{bucket_name}/{key_name}"
        if bucket.get_permission("s3:GetObject", resource) == PermissionResult.PERMITTED:
            return True
        key = bucket.keys.get(key_name)
        return key is not None and key.acl is not None and key.acl.public_read

    def authenticate(self, bucket_name=None, key_name=None):
        auth_on = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
        signed = "Authorization" in self.headers or any(
            q in self.querystring for q in ("X-Amz-Signature", "Signature")
        )
        if auth_on and not signed:
            if self.method in ("GET", "HEAD") and key_name and readable(self, bucket_name, key_name):
                return
            raise S3AccessDeniedError()
        return original(self, bucket_name=bucket_name, key_name=key_name)

    S3Response._authenticate_and_authorize_s3_action = authenticate


def main():
    auth = "--auth" in sys.argv[1:]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import boto3
    from moto.server import ThreadedMotoServer

    patch_atomic_writes()
    patch_anonymous_access()
    if "--ignore-conditions" in sys.argv[1:]:
        patch_ignore_conditions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"

    def client(service, key, secret, token=None):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    ready = [str(port)]
    key, secret = FAKE_KEY, FAKE_SECRET
    if auth:
        iam = client("iam", key, secret)
        iam.create_user(UserName="debpull-tests")
        iam.put_user_policy(UserName="debpull-tests", PolicyName="s3", PolicyDocument=ALLOW_S3)
        user = iam.create_access_key(UserName="debpull-tests")["AccessKey"]
        key, secret = user["AccessKeyId"], user["SecretAccessKey"]
        role = iam.create_role(RoleName="debpull-instance", AssumeRolePolicyDocument=EC2_TRUST)
        iam.put_role_policy(RoleName="debpull-instance", PolicyName="s3", PolicyDocument=ALLOW_S3)
        session = client("sts", key, secret).assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="i-0123456789abcdef0", DurationSeconds=3600
        )["Credentials"]
        iam.create_user(UserName="debpull-nobody")
        nobody = iam.create_access_key(UserName="debpull-nobody")["AccessKey"]
        post(endpoint + "/moto-api/reset-auth", b"0")
        ready += [key, secret]
        ready += [session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]]
        ready += [nobody["AccessKeyId"], nobody["SecretAccessKey"]]
    s3 = client("s3", key, secret)
    answer("ready " + " ".join(ready))

    for line in sys.stdin:
        words = line.split()
        try:
            if words[:1] == ["create_bucket"] and len(words) == 2:
                s3.create_bucket(Bucket=words[1])
            elif words[:1] == ["public_read"] and len(words) == 3:
                prefix = "" if words[2] == "-" else words[2]
                policy = {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": ["s3:GetObject", "s3:HeadObject"],
                            "Resource": f"arn:aws:s3:::{words[1]}/{prefix}*",
                        }
                    ],
                }
                s3.put_bucket_policy(Bucket=words[1], Policy=json.dumps(policy))
            elif words == ["reset"]:
                post(endpoint + "/moto-api/reset", b"")
            else:
                raise ValueError(f"unknown command {line.strip()!r}")
            answer("ok")
        except Exception as error:
            answer("err " + " ".join(str(error).split()))
    os._exit(0)


def post(url, body):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request).read()


def answer(line):
    try:
        print(line, flush=True)
    except BrokenPipeError:
        os._exit(0)


try:
    main()
except BaseException as error:
    print(f"moto_host: {error!r}", file=sys.stderr, flush=True)
    os._exit(1)
