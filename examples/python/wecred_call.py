#!/usr/bin/env python3
"""Call wecred from Python with the standard library only (wecred's README, "Use it from your SDK").

    WECRED_URL=https://cred.example.com WECRED_REALM=biz WECRED_REALM_SECRET=... \\
        python3 wecred_call.py access_token '{"appid": "wx0123456789abcdef"}'

prints the returnData as JSON; a refused call prints the error and exits 1. As a module:
call(url, realm, secret, "access_token", {"appid": "wx..."}) returns the returnData or raises WecredError.
"""
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.request


class WecredError(Exception):
    def __init__(self, return_code, message, errcode=None):
        super().__init__(f"{message} (returnCode {return_code})")
        self.return_code = return_code
        self.errcode = errcode


def sign(realm, secret, method, path, body, timestamp=None, nonce=None):
    """The four X-Wecred-* headers: hex HMAC-SHA256 over METHOD, PATH (no query), TIMESTAMP, NONCE, hex SHA256(body)."""
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or secrets.token_urlsafe(12)
    text = "\n".join([method.upper(), path.split("?")[0], timestamp, nonce, hashlib.sha256(body).hexdigest()])
    signature = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        "X-Wecred-Realm": realm,
        "X-Wecred-Timestamp": timestamp,
        "X-Wecred-Nonce": nonce,
        "X-Wecred-Signature": signature,
    }


def call(url, realm, secret, interface_name, para, timeout=10):
    envelope = {"version": 1, "componentName": "MA", "interface": {"interfaceName": interface_name, "para": para}}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"content-type": "application/json", **sign(realm, secret, "POST", "/", body)}
    request = urllib.request.Request(url.rstrip("/") + "/", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.load(response)
    if answer.get("returnCode") != 0:
        error = answer.get("error") or {}
        raise WecredError(answer.get("returnCode"), answer.get("returnMessage", ""), error.get("errcode"))
    return answer["returnData"]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: wecred_call.py INTERFACE [PARA-JSON]")
    try:
        data = call(
            os.environ.get("WECRED_URL", "http://127.0.0.1:3030"),
            os.environ["WECRED_REALM"],
            os.environ["WECRED_REALM_SECRET"],
            sys.argv[1],
            json.loads(sys.argv[2]) if len(sys.argv) == 3 else {},
        )
    except WecredError as err:
        sys.exit(f"{sys.argv[1]}: {err}")
    print(json.dumps(data, ensure_ascii=False, indent=2))
