"""Copy a trained checkpoint into the package as the default model for its task, without
optimizer state (a few MB instead of three times that).

    python scripts/ship_checkpoint.py runs/.../checkpoints/best.ckpt rm_cli/assets/sudoku_revision.ckpt
"""

import sys

from rm_cli.checkpoint import slim_checkpoint

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    slim = slim_checkpoint(sys.argv[1], sys.argv[2])
    print(f"wrote {sys.argv[2]} (step {slim.get('global_step')})")
