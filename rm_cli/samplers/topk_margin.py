"""Top-k margin order (Kim et al. 2025; Dream's `topk_margin`): reveal first the positions where
the best token beats the runner-up by the widest margin, p(top1) - p(top2). Where two digits
are both likely (a cell with two candidates left), the margin is small and the cell waits."""

from rm_cli.samplers.ordered import OrderedRevealSampler


class TopKMarginSampler(OrderedRevealSampler, name="topk_margin"):
    def score(self, probs):
        top2 = probs.topk(2, dim=-1).values
        return top2[..., 0] - top2[..., 1]
