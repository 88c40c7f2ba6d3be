# check.py - python3 on hartalloc (test-host-preload): a large dict and
# list, then threads that build, hand over and check objects. Prints OK.
import queue
import threading

N = 200_000
table = {f"key{i}": [i, str(i) * 3, (i, i * i)] for i in range(N)}
numbers = [str(i) for i in range(N)]
assert len(table) == N and len(numbers) == N
assert all(table[f"key{i}"] == [i, str(i) * 3, (i, i * i)] for i in range(0, N, 97))
assert sorted(numbers, key=int) == [str(i) for i in range(N)]
del table

handed = queue.Queue(maxsize=256)
errors = []


def producer(seed):
    for i in range(20_000):
        handed.put((seed, i, bytearray(((seed + i) % 251,)) * (i % 700)))
    handed.put(None)


def consumer():
    done = 0
    while done < 4:
        item = handed.get()
        if item is None:
            done += 1
            continue
        seed, i, data = item
        if data != bytearray(((seed + i) % 251,)) * (i % 700):
            errors.append((seed, i))


threads = [threading.Thread(target=producer, args=(s,)) for s in range(4)]
threads.append(threading.Thread(target=consumer))
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors[:5]

# Threads that come and go: each builds and checks its own structures.
def short_lived(k, out):
    d = {j: "x" * (j % 50) for j in range(2_000)}
    out[k] = sum(len(v) for v in d.values())

results = {}
for wave in range(50):
    ts = [threading.Thread(target=short_lived, args=(wave * 8 + k, results)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
expected = sum(j % 50 for j in range(2_000))
assert len(results) == 400 and all(v == expected for v in results.values())
print("OK")
