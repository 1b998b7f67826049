"""Proves that a real installation works: run against a `certcopy` server started from the wheel installed in a
fresh virtual environment (no checkout on the path), it drives the server through the JSON API only.

    install_check.py demo  URL --server-pid PID --server-log FILE
        `certcopy demo`: the citizen files a generated one-page PDF at the province agency, the one-stop officer
        accepts, the leader assigns the signer, the signer approves (PIN `demo`), the clerk seals into the
        agency's open register (PIN `demo`), the one-stop officer returns it with the fee paid; the dossier is
        `returned`, its result.pdf is a PDF whose signatures the public verification accepts, and the login
        page and a static file are served (templates and static files shipped).
    install_check.py admin URL --username U --password-stdin --server-pid PID --server-log FILE
        `certcopy serve` after `certcopy db upgrade` and `certcopy create-admin`: the administrator logs in and
        finds the three routing variants registered, each with its BPMN.

Standard library only, so any Python runs it. Every failure prints what went wrong (and the end of the server's
log) and exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

V1 = "/api/v1"  # the JSON API
DEMO_PIN = "demo"
DEMO_PASSWORD = "demo"
AGENCY = "pcc1"  # the demo's province agency
VARIANTS = {"province", "district", "commune"}


class CheckFailed(Exception):
    pass


class Api:
    """A JSON API client for one server: tokens per user, JSON or multipart bodies, errors as CheckFailed."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.tokens: dict[str, str] = {}

    def request(self, method: str, path: str, user: str | None = None, *, json_body=None, body: bytes | None = None,
                content_type: str | None = None, expect: int = 200) -> tuple[bytes, str]:
        url = self.base + path
        headers = {}
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, data, mime = resp.status, resp.read(), resp.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            status, data, mime = exc.code, exc.read(), exc.headers.get_content_type()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise CheckFailed(f"{method} {url} as {user or 'anonymous'}: no answer ({exc})") from exc
        if status != expect:
            raise CheckFailed(f"{method} {url} as {user or 'anonymous'}: expected HTTP {expect}, got {status}: "
                              f"{data[:800].decode('utf-8', 'replace')}")
        return data, mime

    def json(self, method: str, path: str, user: str | None = None, **kwargs):
        data, mime = self.request(method, path, user, **kwargs)
        if mime != "application/json":
            raise CheckFailed(f"{method} {path}: expected JSON, got {mime}: {data[:200]!r}")
        return json.loads(data)

    def login(self, username: str, password: str) -> dict:
        body = self.json("POST", f"{V1}/auth/token", json_body={"username": username, "password": password})
        if not body.get("token"):
            raise CheckFailed(f"login as {username}: no token in {body}")
        self.tokens[username] = body["token"]
        return body["user"]

    def task(self, user: str, code: str, name: str) -> dict:
        tasks = self.json("GET", f"{V1}/tasks?name={name}", user)
        found = [t for t in tasks if t["dossier"] == code and t["name"] == name]
        if not found:
            raise CheckFailed(f"{user} has no '{name}' task for {code}; their inbox: {tasks}")
        return found[0]

    def complete(self, user: str, code: str, name: str, data: dict, pin: str | None = None,
                 then: str | None = None) -> dict:
        task = self.task(user, code, name)
        body = {"data": data, **({"pin": pin} if pin is not None else {})}
        result = self.json("POST", f"{V1}/tasks/{task['id']}/complete", user, json_body=body)
        status = result["dossier"]["status"]
        if then and status != then:
            raise CheckFailed(f"after {user} completed '{name}' on {code}: status {status}, expected {then}")
        print(f"  {name:<12} by {user:<16} -> {status}")
        return result


def one_page_pdf(text: str) -> bytes:
    """A valid one-page A4 PDF with one line of text, written by hand (header, objects, exact xref, trailer)."""
    content = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8") + b"\r\n")
    for name, (filename, data, mime) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {mime}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def wait_until_up(api: Api, pid: int, limit: float) -> None:
    """Poll until the server answers; fail early if its process has ended."""
    deadline = time.monotonic() + limit
    while True:
        try:
            api.json("GET", f"{V1}/agencies")
            return
        except CheckFailed as exc:
            last = exc
        if not alive(pid):
            raise CheckFailed(f"the server (pid {pid}) exited before answering")
        if time.monotonic() > deadline:
            raise CheckFailed(f"the server did not answer within {limit:g} s: {last}")
        time.sleep(0.5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by the shell) still takes signals: read its state where /proc exists.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def check_demo(api: Api) -> None:
    for user in ("citizen", f"one_stop.{AGENCY}", f"leader.{AGENCY}", f"signer.{AGENCY}", f"clerk.{AGENCY}"):
        api.login(user, DEMO_PASSWORD)

    body, content_type = multipart(
        {"agency": AGENCY, "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
         "delivery": "online", "payment": "counter", "declaration": "true"},
        {"original": ("ban-chinh.pdf", one_page_pdf("Ban chinh - install check"), "application/pdf")})
    filed = api.json("POST", f"{V1}/dossiers", "citizen", body=body, content_type=content_type, expect=201)
    code = filed["code"]
    if filed["status"] != "submitted" or filed["fee"]["pages"] != 1:
        raise CheckFailed(f"filing answered {filed}, expected status submitted and a one-page fee")
    print(f"  filed        by citizen          -> {code} ({filed['fee']['amount_vnd']} VND)")

    api.complete(f"one_stop.{AGENCY}", code, "intake", {"decision": "accept"}, then="processing")
    api.complete(f"leader.{AGENCY}", code, "assign", {"signer": f"signer.{AGENCY}"}, then="awaiting_signature")
    api.complete(f"signer.{AGENCY}", code, "review_sign", {"decision": "approve"}, pin=DEMO_PIN,
                 then="awaiting_seal")
    registers = api.json("GET", f"{V1}/registers?usable=true", f"clerk.{AGENCY}")
    if not registers:
        raise CheckFailed(f"clerk.{AGENCY} has no open register")
    api.complete(f"clerk.{AGENCY}", code, "seal", {"register": registers[0]["id"]}, pin=DEMO_PIN,
                 then="awaiting_return")
    api.complete(f"one_stop.{AGENCY}", code, "return", {"fee_paid": True}, then="returned")

    detail = api.json("GET", f"{V1}/dossiers/{code}", "citizen")
    if detail["status"] != "returned" or not detail.get("result"):
        raise CheckFailed(f"dossier {code}: status {detail['status']}, result {detail.get('result')}")
    pdf, mime = api.request("GET", detail["result"]["download"], "citizen")
    if not pdf.startswith(b"%PDF") or mime != "application/pdf":
        raise CheckFailed(f"result.pdf of {code} is not a PDF ({mime}): {pdf[:40]!r}")
    print(f"  result.pdf   {len(pdf)} bytes, certification number {detail['result']['certification_number']} "
          f"in {detail['result']['register']}")

    body, content_type = multipart({}, {"file": ("result.pdf", pdf, "application/pdf")})
    verified = api.json("POST", f"{V1}/verify", body=body, content_type=content_type)
    fields = [s["field"] for s in verified["signatures"]]
    if verified["valid"] is not True or fields != ["attestation", "seal"]:
        raise CheckFailed(f"public verification of result.pdf: valid={verified['valid']}, signatures {fields}: "
                          f"{json.dumps(verified, ensure_ascii=False)[:800]}")
    print(f"  verify       result.pdf          -> valid, signatures {', '.join(fields)}")

    page, mime = api.request("GET", "/login")
    if mime != "text/html" or b"<form" not in page:
        raise CheckFailed(f"the login page is not an HTML form ({mime}): {page[:200]!r}")
    css, _ = api.request("GET", "/static/style.css")
    if not css.strip():
        raise CheckFailed("/static/style.css is empty")
    print("  pages        /login and /static/style.css served")


def check_admin(api: Api, username: str, password: str) -> None:
    user = api.login(username, password)
    if "admin" not in user["roles"]:
        raise CheckFailed(f"{username} logged in with roles {user['roles']}, expected admin")
    processes = api.json("GET", f"{V1}/processes", username)
    variants = {p["variant"] for p in processes if p["active"]}
    if variants != VARIANTS:
        raise CheckFailed(f"GET /processes: active variants {sorted(variants)}, expected {sorted(VARIANTS)}: "
                          f"{processes}")
    for process in processes:
        xml, _ = api.request("GET", f"{V1}/processes/{process['variant']}/{process['version']}.bpmn", username)
        if b"bpmn" not in xml[:2000] or b"<" not in xml[:100]:
            raise CheckFailed(f"the {process['variant']} BPMN is not BPMN XML: {xml[:200]!r}")
    print(f"  {username} sees the processes: {', '.join(sorted(variants))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", choices=["demo", "admin"])
    parser.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8123")
    parser.add_argument("--server-pid", type=int, required=True, help="the server's process (to notice it died)")
    parser.add_argument("--server-log", type=Path, required=True, help="printed when a check fails")
    parser.add_argument("--username")
    parser.add_argument("--password-stdin", action="store_true", help="read the administrator's password")
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the server to answer")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress lines before a failure's message, also in a log file

    api = Api(args.url)
    started = time.monotonic()
    try:
        wait_until_up(api, args.server_pid, args.wait)
        print(f"  server up after {time.monotonic() - started:.1f} s")
        if args.check == "demo":
            check_demo(api)
        else:
            if not (args.username and args.password_stdin):
                parser.error("admin needs --username and --password-stdin")
            check_admin(api, args.username, sys.stdin.readline().rstrip("\n"))
    except (CheckFailed, KeyError, TypeError, ValueError) as exc:
        print(f"INSTALL CHECK FAILED ({args.check}): {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.server_log.exists():
            tail = args.server_log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
            print("--- end of the server's log:", *tail, sep="\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
