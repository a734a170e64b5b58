"""Load a BeliefLens run directory in Python: a checkpoint, the probe's arrays and summary.json.

Needs only torch and numpy. With TransformerLens installed, the model is simply
    model = HookedTransformer(HookedTransformerConfig(**cfg)); model.load_state_dict(state)
and forward() below is the same computation written out in plain PyTorch.
Usage: python3 load_run.py RUN_DIR [TOKENS.npy LOGITS_OUT.npy]
"""
import glob, json, sys
import numpy as np
import torch
import torch.nn.functional as F

run = sys.argv[1] if len(sys.argv) > 1 else "runs/mess3"
cfg = json.load(open(f"{run}/checkpoints/train_config.json"))    # HookedTransformerConfig field names
checkpoint = sorted(glob.glob(f"{run}/checkpoints/step_*[0-9].pt"))[-1]
state = torch.load(checkpoint, map_location="cpu")                  # TransformerLens state-dict keys
summary = json.load(open(f"{run}/summary.json"))
truth = np.load(f"{run}/probe/beliefs_true.npy")                    # [rows, hidden states]: exact beliefs
site = f"blocks.{cfg['n_layers'] - 1}.hook_resid_post"
predicted = np.load(f"{run}/probe/beliefs_pred.{site}.npy")         # the probe's prediction, row-aligned
weight = np.load(f"{run}/probe/prefix_probability.npy")             # each row's prefix probability


def forward(tokens):  # tokens [batch, pos] -> logits [batch, pos, d_vocab], as HookedTransformer computes them
    def ln(x, name):
        if cfg["normalization_type"] is None:
            return x
        return F.layer_norm(x, x.shape[-1:], state[f"{name}.w"], state[f"{name}.b"], cfg["eps"])

    positions = tokens.shape[1]
    x = state["embed.W_E"][tokens] + state["pos_embed.W_pos"][:positions]
    causal = torch.ones(positions, positions).tril().bool()
    for l in range(cfg["n_layers"]):
        p, h = f"blocks.{l}.", ln(x, f"blocks.{l}.ln1")
        q, k, v = (torch.einsum("bpd,hde->bphe", h, state[p + f"attn.W_{n}"]) + state[p + f"attn.b_{n}"] for n in "QKV")
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / cfg["d_head"] ** 0.5
        pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        z = torch.einsum("bhqk,bkhe->bqhe", pattern, v)
        x = x + torch.einsum("bqhe,hed->bqd", z, state[p + "attn.W_O"]) + state[p + "attn.b_O"]
        if not cfg["attn_only"]:
            act = F.gelu if cfg["act_fn"] == "gelu" else F.relu
            h = act(ln(x, p + "ln2") @ state[p + "mlp.W_in"] + state[p + "mlp.b_in"])
            x = x + h @ state[p + "mlp.W_out"] + state[p + "mlp.b_out"]
    return ln(x, "ln_final") @ state["unembed.W_U"] + state["unembed.b_U"]


mse = float(np.average(((predicted - truth) ** 2).mean(axis=1), weights=weight))
print(json.dumps({"checkpoint": checkpoint, "validation_loss": summary["validation_loss"],
                  "loss_floor": summary["loss_floor"], "probe_rows": len(truth), "probe_mse_all_rows": mse}))
if len(sys.argv) > 3:  # logits of the given token sequences, for comparing with BeliefLens's own
    with torch.no_grad():
        np.save(sys.argv[3], forward(torch.from_numpy(np.load(sys.argv[2])).long()).double().numpy())
