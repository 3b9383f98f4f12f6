"""Load benchmark of ``treernn serve`` on loopback, against the in-process pipeline, in one run.

    python benchmarks/serve_load.py [--sst ../shared/corpora/sst] [--sentences 2000]
        [--clients 1 8 32] [--device cpu] [--threads 1] [--out benchmarks/serve-load]

1. The in-process pipeline (``treernn.load().predict(texts)``: all texts parsed with
   ``nlp.pipe`` and labeled in batches of 256), in a fresh process: sentences/s, best of 3.
2. The server as it ships (batching across requests, one model process per core): for 1, 8 and
   32 concurrent clients, the
   same texts, one per request, sent as a CoreNLP client sends them (``POST /`` with
   ``properties={'annotators': 'sentiment', 'outputFormat': 'json'}``) from one asyncio process
   with aiohttp: requests/s, sentences/s, p50 / p99 latency, errors, the server's RSS after the run
   and its peak.
   Then ``--soak`` (3) more runs of the most clients, to see whether the server's memory grows.
3. The server with one model process (``--model-processes 1``), 32 clients; and the same one
   request at a time (``--max-batch 1 --max-wait-ms 0``), 32 clients.

The texts are SST test sentences, detokenized (``" ".join`` of the unescaped tokens), the first
``--sentences``. Every run is bounded: ``--sentences`` requests and ``--max-seconds`` each. The
client shares the machine's cores with the server (2 cores here): the figures are what one
machine serving itself reaches. Writes ``OUT.json`` and ``OUT.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROPS = {"properties": str({"annotators": "sentiment", "outputFormat": "json"})}  # as pycorenlp sends it


def sst_texts(sst: str, n: int) -> list[str]:
    from treernn.corpora import load_sst
    from treernn.trees import unescape_token

    test = dict(load_sst(sst, classes=5).splits())["test"]
    return [" ".join(unescape_token(t) for t in tree.tokens()) for tree in test[:n]]


def measure_in_process(args) -> dict:
    """Run in a child process: the pipeline as `import treernn` users run it."""
    import torch
    import treernn

    texts = sst_texts(args.sst, args.sentences)
    predictor = treernn.load(device=args.device, threads=args.threads)
    predictor.predict(texts[:16])
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = predictor.predict(texts)
        if args.device != "cpu":
            torch.cuda.synchronize()
        runs.append((time.perf_counter() - t0, len(out)))
    seconds, sentences = min(runs)
    return {"texts": len(texts), "sentences": sentences, "seconds": round(seconds, 3),
            "sentences_per_s": round(sentences / seconds, 1), "runs_seconds": [round(r[0], 3) for r in runs]}


class Server:
    def __init__(self, extra: list[str], device: str, threads: int) -> None:
        workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1
        port = "0"
        if workers > 1:  # the workers share a port the parent binds: pick a free one
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = str(sock.getsockname()[1])
        from treernn.errors import ServerError
        from treernn.serve.launch import start_server

        try:
            self.proc, self.url = start_server(["--port", port, "--device", device, "--threads", str(threads), *extra],
                                               timeout=300)
        except ServerError as exc:
            raise SystemExit(f"serve_load: the server did not start: {exc}") from None

    def stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(self.url + "/v1/stats") as r:
            return json.loads(r.read())

    def pids(self) -> list[int]:
        """The server's process and every process under it (model processes, workers)."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = task / "children"
                if children.exists():
                    todo += [int(p) for p in children.read_text().split()]
        return out

    def memory_mb(self) -> dict:
        """RSS and peak RSS (VmHWM) summed over the server's processes."""
        rss = peak = 0.0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key == "VmRSS":
                    rss += int(value.split()[0]) / 1024
                elif key == "VmHWM":
                    peak += int(value.split()[0]) / 1024
        return {"rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1), "processes": len(self.pids())}

    def cpu_seconds(self) -> dict:
        """CPU time (user + system) of each of the server's processes so far."""
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def stop(self) -> int:
        import signal

        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


async def load(url: str, texts: list[str], clients: int, max_seconds: float) -> dict:
    """``clients`` connections (kept alive), each sending the next text when its answer is in.
    aiohttp's client: its C parser costs the machine a fraction of what httpx's costs, and the
    load generator shares the cores with the server."""
    import aiohttp

    latencies: list[float] = []
    errors, sentences = [], 0
    pending = iter(texts)
    deadline = time.perf_counter() + max_seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:
        async def worker() -> None:
            nonlocal sentences
            for text in pending:
                if time.perf_counter() > deadline:
                    errors.append("over --max-seconds")
                    return
                t0 = time.perf_counter()
                try:
                    async with client.post(url, params=PROPS, data=text.encode(),
                                           headers={"content-type": "text/plain; charset=utf-8"}) as r:
                        body = await r.read()
                except aiohttp.ClientError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status != 200:
                    errors.append(f"{r.status}: {body[:200]!r}")
                else:
                    sentences += len(json.loads(body)["sentences"])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"clients": clients, "requests": len(latencies), "sentences": sentences, "seconds": round(seconds, 3),
            "requests_per_s": round(len(latencies) / seconds, 1), "sentences_per_s": round(sentences / seconds, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1), "p99_ms": round(1000 * q[98], 1),
            "errors": len(errors), "first_errors": errors[:3]}


def serve_runs(args, texts: list[str], extra: list[str], clients: list[int]) -> dict:
    server = Server(extra, args.device, args.threads)
    try:
        asyncio.run(load(server.url, texts[:64], 8, args.max_seconds))  # warm-up
        out = {"settings": extra or ["(defaults)"], "after_warm_up": server.memory_mb(), "runs": []}
        for c in clients:
            before = server.stats()
            cpu0, own0 = server.cpu_seconds(), time.process_time()
            run = asyncio.run(load(server.url, texts, c, args.max_seconds))
            cpu1, own1 = server.cpu_seconds(), time.process_time()
            run["cpu_seconds"] = {"server_main_process": round(cpu1[server.proc.pid] - cpu0.get(server.proc.pid, 0), 2),
                                  "server_other_processes": round(sum(v - cpu0.get(k, 0) for k, v in cpu1.items()
                                                            if k != server.proc.pid), 2),
                                  "client": round(own1 - own0, 2)}
            run.update(server.memory_mb())
            after = server.stats()
            batches = after["batches"] - before["batches"]
            run["mean_batch"] = round((after["texts"] - before["texts"]) / batches, 1) if batches else 0.0
            out["runs"].append(run)
            print(f"  {c:>2} clients: {run['requests_per_s']:7.1f} requests/s, {run['sentences_per_s']:7.1f} "
                  f"sentences/s, p50 {run['p50_ms']:6.1f} ms, p99 {run['p99_ms']:7.1f} ms, errors {run['errors']}, "
                  f"mean batch {run['mean_batch']}, RSS {run['rss_mb']} MB (peak {run['peak_rss_mb']}), CPU s {run['cpu_seconds']}", flush=True)
        return out
    finally:
        out_code = server.stop()
        if out_code != 0:
            print(f"serve_load: the server exited with {out_code}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sst", default="../shared/corpora/sst")
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time limit of each run")
    ap.add_argument("--serve-args", default="", help="more options for the batching server, e.g. '--max-wait-ms 2'")
    ap.add_argument("--soak", type=int, default=3,
                    help="runs of the most clients again on the default server, to see whether memory grows")
    ap.add_argument("--skip-single", action="store_true", help="skip the one-request-at-a-time server")
    ap.add_argument("--out", default=None, help="write OUT.json and OUT.txt")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.in_process:
        print(json.dumps(measure_in_process(args)))
        return 0
    texts = sst_texts(args.sst, args.sentences)
    print(f"serve_load: {len(texts)} SST test sentences, device {args.device}, {args.threads} torch thread(s)", flush=True)
    child = subprocess.run([sys.executable, __file__, "--in-process", "--sst", args.sst, "--sentences",
                            str(args.sentences), "--device", args.device, "--threads", str(args.threads)],
                           capture_output=True, text=True, check=True)
    in_process = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"  in-process pipeline: {in_process['sentences_per_s']:.1f} sentences/s", flush=True)
    top = max(args.clients)
    print("server as it ships (batching across requests; model processes: one per core, up to 4):", flush=True)
    default = serve_runs(args, texts, args.serve_args.split(), args.clients + [top] * args.soak)
    one = single = {"settings": ["(skipped: --skip-single)"], "after_warm_up": {}, "runs": []}
    if not args.skip_single:
        print("server with one model process (--model-processes 1):", flush=True)
        one = serve_runs(args, texts, ["--model-processes", "1"], [top])
        print("server with one model process, one request at a time (--max-batch 1 --max-wait-ms 0):", flush=True)
        single = serve_runs(args, texts, ["--model-processes", "1", "--max-batch", "1", "--max-wait-ms", "0"], [top])
    rate = {name: ([r for r in block["runs"] if r["clients"] == top] or [{"sentences_per_s": float("nan")}])[0]["sentences_per_s"]
            for name, block in (("default", default), ("one", one), ("single", single))}
    result = {
        "what": __doc__.split("\n\n")[1].strip(),
        "command": "python benchmarks/serve_load.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "in_process": in_process, "server_default": default, "server_one_model_process": one,
        "server_one_request_at_a_time": single,
        "ratios": {
            f"default_server_{top}_clients_vs_in_process": round(rate["default"] / in_process["sentences_per_s"], 3),
            f"one_model_process_{top}_clients_vs_in_process": round(rate["one"] / in_process["sentences_per_s"], 3),
            "batching_vs_one_request_at_a_time (one model process)": round(rate["one"] / rate["single"], 2),
            "batching_vs_one_request_at_a_time (default vs one process one at a time)": round(rate["default"] / rate["single"], 2),
        },
    }
    print(json.dumps(result["ratios"]), flush=True)
    if args.out:
        Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
        lines = [f"treernn serve load benchmark, {result['date']} ({result['machine']}), device {args.device}, "
                 f"{args.threads} torch thread(s)", f"command: {result['command']}",
                 f"in-process pipeline: {in_process['sentences_per_s']:.1f} sentences/s ({in_process['sentences']} "
                 f"sentences in {in_process['seconds']} s, best of 3)"]
        for title, block in (("server as it ships", default), ("server, --model-processes 1", one),
                             ("server, --model-processes 1, one request at a time", single)):
            lines.append(f"{title}: RSS after warm-up {block['after_warm_up'].get('rss_mb')} MB")
            for r in block["runs"]:
                lines.append(f"  {r['clients']:>2} clients: {r['requests_per_s']:7.1f} requests/s {r['sentences_per_s']:7.1f} "
                             f"sentences/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}  "
                             f"mean batch {r['mean_batch']}  RSS {r['rss_mb']} MB (peak {r['peak_rss_mb']} MB, "
                             f"{r['processes']} processes)  CPU s {r['cpu_seconds']}")
        lines.append("ratios: " + ", ".join(f"{k} {v}" for k, v in result["ratios"].items()))
        Path(args.out + ".txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
