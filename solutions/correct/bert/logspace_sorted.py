"""CORRECT: log-probabilities compared with log(threshold), selection by a stable sort."""
import math

import torch


def _logits(out):
    return getattr(out, "logits", out)


def mlm_loss(logits, labels):
    keep = labels != -100
    logp = logits.log_softmax(-1)  # (B, L, V)
    picked = logp.gather(-1, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1)  # (B, L)
    return -(picked * keep).sum() / keep.sum()


def argmax_correction(logits, input_ids, special):
    pred = logits.topk(1, dim=-1).indices.squeeze(-1)
    special = special.expand_as(input_ids)
    out = input_ids.clone()
    out[~special] = pred[~special]
    return out


def masked_candidates(input_ids, mask_token_id, special):
    positions = (~special).nonzero(as_tuple=True)[0]
    eye = torch.nn.functional.one_hot(positions, input_ids.shape[0]).bool()  # (M, L)
    batch = torch.where(eye, torch.full_like(input_ids, mask_token_id), input_ids)
    return batch, positions


def masked_correction(model, input_ids, mask_token_id, special, threshold=0.05, max_edits=None):
    ids = input_ids.clone()
    limit = int((~special).sum()) if max_edits is None else int(max_edits)
    log_th = math.log(threshold)
    for _ in range(limit):
        batch, positions = masked_candidates(ids, mask_token_id, special)
        if positions.numel() == 0:
            return ids
        with torch.inference_mode():
            logits = _logits(model(batch)).float()
        m = torch.arange(len(positions))
        logp = torch.log_softmax(logits[m, positions], dim=-1)
        cur = ids[positions]
        lp = logp[m, cur]
        best = logp.argmax(-1)
        cand = ((lp < log_th) & (best != cur)).nonzero().squeeze(1)
        if cand.numel() == 0:
            return ids
        order = torch.sort(lp[cand], stable=True).indices
        k = int(cand[order[0]])
        ids = ids.clone()
        ids[positions[k]] = best[k]
    return ids


def correct_sentence(text, tokenizer, model, threshold=0.05):
    enc = tokenizer(text, return_tensors="pt")
    ids = enc.input_ids[0]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids.tolist(), already_has_special_tokens=True),
                           dtype=torch.bool)
    fixed = masked_correction(model, ids, tokenizer.mask_token_id, special, threshold=threshold)
    return "".join(tokenizer.decode(fixed, skip_special_tokens=True).split())
