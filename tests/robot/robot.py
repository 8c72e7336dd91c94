"""A stand-in for the chat robots duban posts to, for the tests.

    python3 robot.py PORT LOG [SECRET]

Listens on 127.0.0.1:PORT. Checks what the real robots check and answers
as they do (HTTP 200 with an errcode), and writes one JSON line per request
to LOG: {"path", "query", "body", "answer"}.

- /dingtalk: the signature (timestamp in ms, sign = Base64 of HMAC-SHA256
  over "timestamp\\nSECRET", URL-encoded) -> errcode 310000 when wrong; the
  body must be msgtype markdown with markdown.title and markdown.text, and
  every number in at.atMobiles must stand as @NUMBER in the text (else the
  mention does not fire: errcode 400001 here); more than 20 messages in 60
  seconds (by the requests' timestamps) -> errcode 130101.
- /wecom: msgtype markdown (content at most 4096 bytes) or text (content at
  most 2048 bytes, mentioned_mobile_list a list of strings) -> else errcode
  40058.
- /hook: any JSON object -> HTTP 200.
- POST /answer {"errcode": N} makes every later robot request answer
  errcode N (0: back to normal); {"errcode": N, "status": 429} answers
  with that HTTP status too.
"""

import base64
import hashlib
import hmac
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG = int(sys.argv[1]), sys.argv[2]
SECRET = sys.argv[3] if len(sys.argv) > 3 else ""
FORCED = {"errcode": 0, "status": 200}
STAMPS = []


def dingtalk(query, body):
    ts = query.get("timestamp", [""])[0]
    sign = query.get("sign", [""])[0]
    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256)
    if not ts or sign != base64.b64encode(mac.digest()).decode():
        return 310000, "sign not match"
    md = body.get("markdown") or {}
    if body.get("msgtype") != "markdown" or not isinstance(md.get("title"), str) or not isinstance(md.get("text"), str):
        return 40035, "bad markdown message"
    for m in (body.get("at") or {}).get("atMobiles") or []:
        if f"@{m}" not in md["text"]:
            return 400001, f"@{m} is not in the text"
    now = int(ts)
    recent = [t for t in STAMPS if now - t < 60_000]
    if len(recent) >= 20:
        return 130101, "send too fast, exceed 20 times per minute"
    STAMPS.append(now)
    return 0, "ok"


def wecom(body):
    kind = body.get("msgtype")
    part = body.get(kind) if kind in ("markdown", "text") else None
    if not isinstance(part, dict) or not isinstance(part.get("content"), str):
        return 40058, "bad message"
    limit = 4096 if kind == "markdown" else 2048
    if len(part["content"].encode()) > limit:
        return 40058, f"content over {limit} bytes"
    mobiles = part.get("mentioned_mobile_list", [])
    if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
        return 40058, "bad mentioned_mobile_list"
    return 0, "ok"


class Robot(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self.answer(400, {"errcode": 400, "errmsg": "not JSON in UTF-8"})
        if url.path == "/answer":
            FORCED["errcode"] = body["errcode"]
            FORCED["status"] = body.get("status", 200)
            return self.answer(200, {"errcode": 0})
        if FORCED["errcode"]:
            code, msg = FORCED["errcode"], "forced"
        elif url.path == "/dingtalk":
            code, msg = dingtalk(query, body)
        elif url.path == "/wecom":
            code, msg = wecom(body)
        elif url.path == "/hook":
            code, msg = (0, "ok") if isinstance(body, dict) else (400, "not an object")
        else:
            return self.answer(404, {"errcode": 404, "errmsg": "no such robot"})
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"path": url.path, "query": query, "body": body, "answer": code}, ensure_ascii=False) + "\n")
        self.answer(FORCED["status"] if FORCED["errcode"] else 200, {"errcode": code, "errmsg": msg})


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", PORT), Robot).serve_forever()
