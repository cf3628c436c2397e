"""Entropy order: reveal first the positions whose distribution over the real tokens has the
lowest entropy, i.e. where the model's whole distribution, not only its top token, is sharp."""

from rm_cli.samplers.ordered import OrderedRevealSampler


class EntropySampler(OrderedRevealSampler, name="entropy"):
    def score(self, probs):
        return (probs * probs.clamp(min=1e-12).log()).sum(-1)  # -entropy: higher is surer
