"""An exact Sudoku solver: bitmask candidates, constraint propagation, depth-first search.

Boards here are plain lists of 81 ints, 1-9 for a digit and 0 for a blank (the generator calls
the solver thousands of times, so it stays in plain Python ints rather than tensors). Each
cell's candidates are a 9-bit mask; propagation applies the two rules a person uses first,
naked singles (a cell with one candidate left) and hidden singles (a digit with one place left
in a row, column or box), and the search branches on the cell with the fewest candidates.
"""

ALL = 0x1FF  # nine candidate bits

ROWS = [tuple(r * 9 + c for c in range(9)) for r in range(9)]
COLS = [tuple(r * 9 + c for r in range(9)) for c in range(9)]
BOXES = [tuple((b // 3 * 3 + r) * 9 + b % 3 * 3 + c for r in range(3) for c in range(3)) for b in range(9)]
UNITS = ROWS + COLS + BOXES
PEERS = [tuple(sorted({p for unit in UNITS if i in unit for p in unit} - {i})) for i in range(81)]
POPCOUNT = [bin(m).count("1") for m in range(ALL + 1)]
DIGIT = {1 << d: d + 1 for d in range(9)}  # single-bit mask -> digit


def conflict(board) -> str | None:
    """A description of the first repeated given ("two 5s in row 3"), or None."""
    for kind, units in (("row", ROWS), ("column", COLS), ("box", BOXES)):
        for n, unit in enumerate(units):
            seen = set()
            for i in unit:
                d = board[i]
                if d and d in seen:
                    return f"two {d}s in {kind} {n + 1}"
                seen.add(d)
    return None


def _propagate(c: list[int], queue: list[int]) -> bool:
    """Apply naked and hidden singles until nothing changes; False on a contradiction.

    `queue` holds the cells whose single candidate has not yet been removed from their peers.
    """
    while True:
        while queue:
            i = queue.pop()
            bit = c[i]
            for p in PEERS[i]:
                m = c[p]
                if m & bit:
                    m ^= bit
                    if not m:
                        return False
                    c[p] = m
                    if not m & (m - 1):
                        queue.append(p)
        for unit in UNITS:
            once = twice = 0
            for i in unit:
                m = c[i]
                twice |= once & m
                once |= m
            if once != ALL:
                return False  # some digit has no place left in this unit
            only = once & ~twice
            if only:
                for i in unit:
                    m = c[i] & only
                    if m and c[i] != m:
                        if m & (m - 1):
                            return False  # two digits can only go in this one cell
                        c[i] = m
                        queue.append(i)
        if not queue:
            return True


def _start(board) -> list[int] | None:
    """Propagated candidates of a board, or None when its givens already contradict."""
    c = [ALL] * 81
    queue = []
    for i, d in enumerate(board):
        if d:
            c[i] = 1 << (d - 1)
            queue.append(i)
    return c if _propagate(c, queue) else None


def candidates(board) -> list[int] | None:
    """Each cell's candidate digits (a 9-bit mask, bit d-1 for digit d) once singles are applied,
    or None when the board contradicts itself."""
    return _start(board)


class SearchTooLong(Exception):
    """The search spent its node budget without deciding (a crafted puzzle with no solution can take minutes)."""


def _search(c: list[int], limit: int, found: list, budget: list | None = None) -> None:
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise SearchTooLong
    best, fewest = -1, 10
    for i in range(81):
        m = c[i]
        if m & (m - 1):
            n = POPCOUNT[m]
            if n < fewest:
                best, fewest = i, n
                if n == 2:
                    break
    if best < 0:
        found.append([DIGIT[m] for m in c])
        return
    m = c[best]
    while m:
        bit = m & -m
        m ^= bit
        branch = c[:]
        branch[best] = bit
        if _propagate(branch, [best]):
            _search(branch, limit, found, budget)
            if len(found) >= limit:
                return


def solutions(board, limit: int = 2, max_nodes: int | None = None) -> list[list[int]]:
    """Up to `limit` solutions of the board (none when it has none). max_nodes: raise SearchTooLong after
    that many search nodes (None: no limit)."""
    c = _start(board)
    found: list = []
    if c is not None:
        _search(c, limit, found, None if max_nodes is None else [max_nodes])
    return found


def unique_solution(board) -> list[int] | None:
    """The solution when there is exactly one, else None."""
    found = solutions(board, limit=2)
    return found[0] if len(found) == 1 else None


def forces(board, cell: int, digit: int) -> bool:
    """True when every solution of `board` (cell blank) has `digit` at `cell`: with the digit
    given the puzzle was unique, so it stays unique without it. The generator's one check."""
    c = _start(board)
    if c is None:
        return True
    c[cell] &= ~(1 << (digit - 1))
    if not c[cell] or not _propagate(c, [cell] if not c[cell] & (c[cell] - 1) else []):
        return True
    found: list = []
    _search(c, 1, found)
    return not found


def solved_by_singles(board) -> bool:
    """Naked and hidden singles alone fill the whole board (no guessing needed)."""
    c = _start(board)
    return c is not None and all(not m & (m - 1) for m in c)
