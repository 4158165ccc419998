"""CORRECT: Hugging Face idioms: model(input_ids=..., attention_mask=...), model.device,
next(model.parameters()).device, all_special_ids, batch_decode."""
import torch
import torch.nn.functional as F


def mlm_loss(logits, labels):
    return F.nll_loss(F.log_softmax(logits, dim=-1).transpose(1, 2), labels, ignore_index=-100)


def argmax_correction(logits, input_ids, special):
    return input_ids.masked_fill(~special, 0) + logits.argmax(-1).masked_fill(special, 0)


def masked_candidates(input_ids, mask_token_id, special):
    positions = torch.arange(input_ids.numel(), device=input_ids.device)[~special]
    batch = input_ids.expand(positions.numel(), -1).clone()
    batch.scatter_(1, positions[:, None], mask_token_id)
    return batch, positions


def masked_correction(model, input_ids, mask_token_id, special, threshold=0.05, max_edits=None):
    current = input_ids.detach().clone()
    n = int((~special).sum().item())
    budget = n if max_edits is None else max_edits
    done = 0
    while done < budget:
        batch, positions = masked_candidates(current, mask_token_id, special)
        if n == 0:
            break
        batch = batch.to(next(model.parameters()).device)
        out = model(input_ids=batch, attention_mask=torch.ones_like(batch))
        logits = out.logits if hasattr(out, "logits") else out
        logits = logits.detach().double()
        probs = F.softmax(logits[torch.arange(n), positions], dim=-1)
        p_now = probs.gather(1, current[positions][:, None]).squeeze(1)
        top = probs.argmax(1)
        bad = (p_now < threshold) & (top != current[positions])
        if not bad.any():
            break
        p_masked = torch.where(bad, p_now, torch.ones_like(p_now) * 2)
        idx = int(p_masked.argmin())
        current[positions[idx]] = top[idx]
        done += 1
    return current


def correct_sentence(text, tokenizer, model, threshold=0.05):
    ids = torch.tensor(tokenizer(text)["input_ids"]).to(model.device)
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    fixed = masked_correction(model, ids, tokenizer.mask_token_id, special, threshold)
    return tokenizer.batch_decode(fixed[None], skip_special_tokens=True)[0].replace(" ", "")
