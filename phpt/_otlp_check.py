"""Checks OTLP/HTTP JSON bodies against OpenTelemetry's own definitions.

    python3 _otlp_check.py BODY.json...

Each body is parsed into opentelemetry-proto's ExportLogsServiceRequest by
protobuf's json_format.Parse, which refuses unknown fields and wrong types. OTLP's
JSON writes traceId and spanId in hex where protobuf's JSON mapping has base64:
they are checked as hex and turned into base64 first, as OTLP receivers do. Prints
one line per body: records, scopes, and each record's severity and ids.
The packages come from scripts/deps.sh (pip --target target/otlp-python).
"""
import base64
import json
import os
import sys

ROOT = os.environ.get("ASYNCBATCH_ROOT") or os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, os.path.join(ROOT, "target", "otlp-python"))
try:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
except ImportError as e:
    print(f"opentelemetry-proto is not installed ({e}): run bash scripts/deps.sh")
    sys.exit(1)

IDS = {"traceId": 16, "spanId": 8}

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    for rl in doc.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for rec in sl.get("logRecords", []):
                for name, size in IDS.items():
                    if name in rec:
                        raw = bytes.fromhex(rec[name])
                        assert len(raw) == size, f"{name} {rec[name]!r} is not {size} bytes of hex"
                        rec[name] = base64.b64encode(raw).decode()
    req = json_format.Parse(json.dumps(doc), ExportLogsServiceRequest(), ignore_unknown_fields=False)
    out = []
    for rl in req.resource_logs:
        res = ",".join(f"{a.key}={a.value.string_value}" for a in rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                ids = f" trace={r.trace_id.hex()} span={r.span_id.hex()}" if r.trace_id else ""
                out.append(f"{sl.scope.name}: {r.severity_number}/{r.severity_text or '-'} t={r.time_unix_nano} attributes={len(r.attributes)}{ids}")
        print(f"valid ExportLogsServiceRequest, resource {res}")
    for line in out:
        print("  " + line)
