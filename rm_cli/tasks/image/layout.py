"""The sequence the model reads: 3 instruction tokens, the source scene's tokens (fixed context),
then the canvas (the editable target scene).

Vocabulary: ids 0..K-1 are the tokenizer's codes, then one id per instruction word
(instructions.WORDS), then MASK. Positions carry three coordinates, each with its own learned
embedding table in the backbone: token row and column in the scene (the source token and the
canvas token at the same place share them, so copying is easy to learn; the instruction gets
the row/column value 2g, off the grid) and a segment (instruction slot 0-2, source 3, canvas 4).
"""

import torch

from rm_cli.tasks.image import instructions as ins

N_INSTRUCTION = 3
SOURCE_SEGMENT, CANVAS_SEGMENT = N_INSTRUCTION, N_INSTRUCTION + 1


class Layout:
    def __init__(self, codebook_size: int, token_coordinates: torch.Tensor):
        self.codebook_size = codebook_size
        self.token_coordinates = token_coordinates  # [2, n_image] (row, col)
        self.n_image = token_coordinates.shape[1]
        self.seq_len = N_INSTRUCTION + 2 * self.n_image
        self.mask_id = codebook_size + len(ins.WORDS)
        self.vocab_size = self.mask_id + 1
        self.source = slice(N_INSTRUCTION, N_INSTRUCTION + self.n_image)
        self.canvas = slice(N_INSTRUCTION + self.n_image, self.seq_len)

    def word_id(self, word: str) -> int:
        return self.codebook_size + ins.WORDS.index(word)

    def instruction_ids(self, instruction: "ins.Instruction | None") -> torch.Tensor:
        """[3] ids of (verb, position, class); None (instructions hidden): three `none` tokens."""
        words = (ins.NONE,) * N_INSTRUCTION if instruction is None else instruction.words()
        return torch.tensor([self.word_id(w) for w in words])

    def sequence(self, instruction_ids: torch.Tensor, source: torch.Tensor, canvas: torch.Tensor) -> torch.Tensor:
        return torch.cat([instruction_ids, source, canvas], dim=-1)

    def editable(self, batch: int) -> torch.Tensor:
        e = torch.zeros(batch, self.seq_len, dtype=torch.bool)
        e[:, self.canvas] = True
        return e

    def coordinates(self) -> torch.Tensor:
        """[3, seq_len] (row, col, segment) of every position."""
        off_grid = int(self.token_coordinates.max()) + 1
        instr = torch.tensor([[off_grid] * N_INSTRUCTION, [off_grid] * N_INSTRUCTION, list(range(N_INSTRUCTION))])
        image = lambda seg: torch.cat([self.token_coordinates, torch.full((1, self.n_image), seg)])  # noqa: E731
        return torch.cat([instr, image(SOURCE_SEGMENT), image(CANVAS_SEGMENT)], dim=1)
