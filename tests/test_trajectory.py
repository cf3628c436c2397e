import torch

from rm_cli.trajectory import (KEEP, KIND_KEEP, KIND_MASK, KIND_REVEAL, MASK, WRONG, TrajectorySimulator,
                               oracle_labels)

M = 9


def test_oracle_labels_on_hand_built_state():
    gold = torch.tensor([[1, 2, 3, 4, 5]])
    state = torch.tensor([[1, M, 7, 4, M]])  # keep, reveal, wrong, keep, reveal
    labels, kind = oracle_labels(state, gold, M)
    assert labels.tolist() == [[1, 2, M, 4, 5]]
    assert kind.tolist() == [[KIND_KEEP, KIND_REVEAL, KIND_MASK, KIND_KEEP, KIND_REVEAL]]


def test_simulated_paths_follow_their_rule(generator):
    T, B, N = 6, 256, 12
    gold = torch.randint(0, 9, (B, N), generator=generator)
    wrong = (gold + 1) % 9
    rule = torch.randint(0, 3, (B, N), generator=generator)
    traj = TrajectorySimulator(T)(gold, rule, wrong, M, generator=generator)
    s = traj.states  # [B, T, N]
    assert s.shape == (B, T, N)
    keep = (rule == KEEP).unsqueeze(1).expand_as(s)
    assert torch.equal(s[keep], gold.unsqueeze(1).expand_as(s)[keep])
    # WRONG: w at step 0, then (w)* (M)+ gold*, never going back
    for b in range(8):
        for i in range(N):
            path = s[b, :, i].tolist()
            if rule[b, i] == WRONG:
                w, g = int(wrong[b, i]), int(gold[b, i])
                assert path[0] == w and all(v in (w, M, g) for v in path)
                codes = [0 if v == w else 1 if v == M else 2 for v in path]
                assert codes == sorted(codes) and 1 in codes  # w ... M ... gold, at least one M
            if rule[b, i] == MASK:
                assert path[0] == M
                assert all(v in (M, int(gold[b, i])) for v in path)
                assert path == sorted(path, key=lambda v: v != M)
    assert traj.t.min() >= 0 and traj.t.max() <= T - 1
    assert torch.equal(traj.current, s[torch.arange(B), traj.t])
    labels, kind = oracle_labels(traj.current, gold, M)
    assert torch.equal(traj.labels, labels) and torch.equal(traj.kind, kind)


def test_every_step_of_a_wrong_path_is_reachable(generator):
    """beta ranges over 1..T-1 and mu over beta+1..T: every state appears at some t."""
    T = 4
    gold = torch.zeros(4000, 1, dtype=torch.long)
    rule = torch.full_like(gold, WRONG)
    s = TrajectorySimulator(T)(gold, rule, gold + 1, M, generator=generator).states[:, :, 0]
    n_wrong = (s == 1).sum(1)
    n_mask = (s == M).sum(1)
    assert set(n_wrong.tolist()) == {1, 2, 3}
    assert n_mask.min() >= 1 and set((n_wrong + n_mask).tolist()) == {2, 3, 4}
