"""Cuts one-at-a-time round trips into their parts from two timelines (timeline.c): the server's and the client's.

    python3 analyze.py SERVER_TIMELINE CLIENT_TIMELINE

Each process's connection is the descriptor with the most reads that returned data. A call is: the client writes
the request (client write), the server's read returns it (request wake-up: from the end of the client's write to the
end of the server's read), the server works until it writes the answer (server turn), the server writes (server
write), the client's read returns it (answer wake-up), and the client works until it writes the next request (client
turn). Prints the median of each part over the calls after the first fifth (the handshake and warm-up), as
`part=µs`, and their sum.
"""

import bisect
import statistics
import sys


def load(path):
    records = []
    with open(path) as timeline:
        for line in timeline:
            op, fd, result, start, end = line.split()
            records.append((op, int(fd), int(result), int(start), int(end)))
    return records


def connection(records):
    reads = {}
    for op, fd, result, _, _ in records:
        if op == "r" and result > 0:
            reads[fd] = reads.get(fd, 0) + 1
    return max(reads, key=reads.get)


def turns(records):
    """(read ends, write starts, write ends, turn lengths) on the connection: a turn runs from a read that returned
    data to the next write."""
    fd = connection(records)
    read_ends, write_starts, write_ends, turn = [], [], [], []
    last_read = None
    for op, record_fd, result, start, end in records:
        if record_fd != fd or result <= 0:
            continue
        if op == "r":
            read_ends.append(end)
            last_read = end
        else:
            write_starts.append(start)
            write_ends.append(end)
            if last_read is not None:
                turn.append(start - last_read)
                last_read = None
    return read_ends, write_starts, write_ends, turn


def wakeups(write_ends, read_ends):
    """From each write's end to the end of the first read on the other side after it."""
    out = []
    for end in write_ends:
        i = bisect.bisect_right(read_ends, end)
        if i < len(read_ends):
            out.append(read_ends[i] - end)
    return out


def median_us(values):
    values = values[len(values) // 5 :]
    return statistics.median(values) / 1000 if values else float("nan")


def main():
    server = turns(load(sys.argv[1]))
    client = turns(load(sys.argv[2]))
    parts = {
        "client_write": [b - a for a, b in zip(client[1], client[2])],
        "request_wakeup": wakeups(client[2], server[0]),
        "server_turn": server[3],
        "server_write": [b - a for a, b in zip(server[1], server[2])],
        "answer_wakeup": wakeups(server[2], client[0]),
        "client_turn": client[3],
    }
    medians = {name: median_us(values) for name, values in parts.items()}
    print(" ".join(f"{name}={value:.1f}" for name, value in medians.items()), f"sum={sum(medians.values()):.1f}",
          f"calls={len(server[3])}")


if __name__ == "__main__":
    main()
