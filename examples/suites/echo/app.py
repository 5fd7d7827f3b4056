"""The echo API in Python (FastAPI + uvicorn): the same API and answers as server.mjs.

    python3 -m uvicorn app:app --port 8080 --workers 1

Debian: apt-get install -y python3-fastapi python3-uvicorn
"""
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


def answer(doc: dict) -> dict:
    """The computed answer: the same in both contestants (see server.mjs)."""
    raw = doc.get("values")
    values = [v for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool)] if isinstance(raw, list) else []
    total = 0.0
    for v in values:
        total += v
    text = doc.get("text")
    return {
        "id": doc.get("id"),
        "echo": doc,
        "count": len(values),
        "sum": total,
        "mean": total / len(values) if values else None,
        "words": len([w for w in re.split(r"\s+", text) if w]) if isinstance(text, str) else 0,
    }


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.post("/echo")
async def echo(request: Request):
    try:
        doc = await request.json()
    except ValueError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(doc, dict):
        return JSONResponse({"error": "body must be a JSON object"}, status_code=422)
    return answer(doc)
