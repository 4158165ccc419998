"""CORRECT: explicit Python loops, float64 probabilities, positions collected in a list."""
import math

import torch


def mlm_loss(logits, labels):
    total = torch.zeros((), dtype=torch.float64)
    count = 0
    B, L, _ = logits.shape
    for b in range(B):
        for i in range(L):
            y = int(labels[b, i])
            if y == -100:
                continue
            z = logits[b, i].double()
            total = total + (torch.logsumexp(z, 0) - z[y])
            count += 1
    return (total / count).to(logits.dtype)


def argmax_correction(logits, input_ids, special):
    out = input_ids.clone()
    B, L = input_ids.shape
    sp = special.expand(B, L) if special.dim() == 1 else special
    for b in range(B):
        for i in range(L):
            if not bool(sp[b, i]):
                out[b, i] = int(torch.argmax(logits[b, i]))
    return out


def masked_candidates(input_ids, mask_token_id, special):
    rows, positions = [], []
    for i in range(input_ids.shape[0]):
        if bool(special[i]):
            continue
        row = input_ids.clone()
        row[i] = mask_token_id
        rows.append(row)
        positions.append(i)
    if not rows:
        return (torch.empty(0, input_ids.shape[0], dtype=input_ids.dtype, device=input_ids.device),
                torch.empty(0, dtype=torch.int64, device=input_ids.device))
    return torch.stack(rows), torch.tensor(positions, dtype=torch.int64, device=input_ids.device)


def masked_correction(model, input_ids, mask_token_id, special, threshold=0.05, max_edits=None):
    ids = input_ids.clone()
    if max_edits is None:
        max_edits = sum(1 for s in special.tolist() if not s)
    edits = 0
    while edits < max_edits:
        batch, positions = masked_candidates(ids, mask_token_id, special)
        if len(positions) == 0:
            break
        out = model(batch)
        logits = out.logits if hasattr(out, "logits") else out
        best_m, best_p = None, math.inf
        for m in range(len(positions)):
            i = int(positions[m])
            probs = torch.softmax(logits[m, i].double(), dim=0)
            cur = int(ids[i])
            p = float(probs[cur])
            top = int(torch.argmax(probs))
            if p < threshold and top != cur and p < best_p:
                best_m, best_p = (i, top), p
        if best_m is None:
            break
        ids[best_m[0]] = best_m[1]
        edits += 1
    return ids


def correct_sentence(text, tokenizer, model, threshold=0.05):
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.int64)
    special = torch.tensor([t in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
                            for t in ids.tolist()])
    with torch.no_grad():
        fixed = masked_correction(model, ids, tokenizer.mask_token_id, special, threshold)
    words = tokenizer.convert_ids_to_tokens(fixed[~special].tolist())
    return "".join(words)
