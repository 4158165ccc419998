"""Train the course's small Japanese masked language model (マスク言語モデル).

The lecture ends its Hugging Face section with BERT correcting 「私は野菜が空きだ」 to
「私は野菜が好きだ」. The grading machines cannot download a pretrained Japanese BERT,
so the course trains its own tiny one here, on CPU, in well under a minute:

* **corpus** — template sentences over everyday vocabulary (who likes or dislikes which
  food or drink, whose favourite it is, who eats or drinks it, who buys it), plus a few sentences that use 空き in
  its own senses (空き部屋, 空き時間, 駐車場に空き) so the model knows the word;
* **tokenizer** (トークナイザ) — MeCab word segmentation with the ``ipadic`` dictionary
  (``fugashi`` + ``ipadic``) and a word-level vocabulary built from the corpus, saved as
  a Hugging Face ``BertJapaneseTokenizer``;
* **model** — a 2-layer ``BertForMaskedLM`` with hidden size 64, pre-trained
  (事前学習) with the masked-LM objective for a fixed number of steps; seeded and
  deterministic (the same command writes the same weights);
* **robustness** — besides the usual BERT masking, 10 % of the *unmasked, unlabelled*
  tokens are replaced by random words, so the model learns not to trust every context
  word: at correction time the context contains the error itself.

Run from the repository root::

    python models/bert_ja/train.py            # writes autograder/assets/bert_ja/

It prints the held-out masked-token accuracy and the training time that the model card
(models/bert_ja/README.md) reports. Everything is loaded from local files only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "autograder" / "assets" / "bert_ja"

# ----------------------------------------------------------------------------- corpus
SUBJECTS = ["私", "彼", "彼女", "母", "父", "兄", "姉", "友達"]
FOODS = ["野菜", "果物", "肉", "魚", "パン", "ご飯"]  # 食べる
DRINKS = ["牛乳", "お茶"]  # 飲む
OBJECTS = FOODS + DRINKS
# The course's small world: everybody agrees on what is good.
LIKED = {"野菜", "果物", "魚", "パン", "お茶"}
DISTRACTORS = [  # 空き in its own senses (few on purpose)
    "駐車場に空きがある",
    "空き部屋が二つある",
    "空き時間に本を読む",
]
# (template, subject, object) cells kept out of training: the held-out evaluation set.
HELD_OUT = {("like", "彼女", "果物"), ("like", "兄", "魚"), ("eat", "父", "牛乳"),
            ("eat", "姉", "パン"), ("morning", "友達", "野菜"), ("shop", "母", "お茶"),
            ("favourite", "私", "肉"), ("very", "姉", "果物")}


def verb(obj: str) -> str:
    return "飲む" if obj in DRINKS else "食べる"


def feeling(obj: str) -> str:
    return "好き" if obj in LIKED else "嫌い"


def sentence(template: str, s: str, o: str) -> str:
    if template == "like":
        return f"{s}は{o}が{feeling(o)}だ"
    if template == "very":
        return f"{s}は{o}がとても{feeling(o)}だ"
    if template == "favourite":
        return f"{s}の{feeling(o)}な{'飲み物' if o in DRINKS else '食べ物'}は{o}だ"
    if template == "eat":
        return f"{s}は{o}を{verb(o)}"
    if template == "morning":
        return f"{s}は毎朝{o}を{verb(o)}"
    if template == "shop":
        return f"{s}は店で{o}を買った"
    raise ValueError(template)


TEMPLATES = ["like", "very", "favourite", "eat", "morning", "shop"]


def corpus() -> tuple[list[str], list[str]]:
    """(training sentences, held-out sentences)."""
    train, held = [], []
    for t in TEMPLATES:
        for s in SUBJECTS:
            for o in OBJECTS:
                (held if (t, s, o) in HELD_OUT else train).append(sentence(t, s, o))
    return train + DISTRACTORS, held


# ----------------------------------------------------------------------------- tokenizer
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def word_tokenize(sentences: list[str]) -> list[list[str]]:
    import fugashi
    import ipadic

    tagger = fugashi.GenericTagger(ipadic.MECAB_ARGS)
    return [[w.surface for w in tagger(s)] for s in sentences]


def build_tokenizer(words: list[list[str]], out: Path):
    from transformers import BertJapaneseTokenizer

    counts: dict[str, int] = {}
    for ws in words:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    vocab = SPECIALS + sorted(counts, key=lambda w: (-counts[w], w))
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertJapaneseTokenizer(
        str(out / "vocab.txt"), do_lower_case=False, do_word_tokenize=True,
        do_subword_tokenize=False, word_tokenizer_type="mecab",
        mecab_kwargs={"mecab_dic": "ipadic"}, model_max_length=32,
    )
    tok.save_pretrained(str(out))
    return tok


# ----------------------------------------------------------------------------- training
def make_batch(rows: list[list[int]], gen: torch.Generator, *, n_words: int, first_word: int,
               mask_id: int, pad_id: int, p_mask: float, p_noise: float):
    L = max(len(r) for r in rows)
    ids = torch.full((len(rows), L), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    attn = (ids != pad_id).long()
    inner = attn.bool().clone()
    lengths = attn.sum(1)
    inner[:, 0] = False
    inner[torch.arange(len(rows)), lengths - 1] = False  # [CLS] ... [SEP]
    pick = (torch.rand(ids.shape, generator=gen) < p_mask) & inner
    # at least one masked word per sentence
    forced = torch.multinomial(inner.float(), 1, generator=gen).squeeze(1)
    pick[torch.arange(len(rows)), forced] = True
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    inputs = ids.clone()
    r = torch.rand(ids.shape, generator=gen)
    rand_words = torch.randint(first_word, first_word + n_words, ids.shape, generator=gen)
    inputs[pick & (r < 0.8)] = mask_id  # BERT's 80 / 10 / 10 on the labelled positions
    swap = pick & (r >= 0.8) & (r < 0.9)
    inputs[swap] = rand_words[swap]
    # context noise: unmasked, unlabelled words replaced by random words
    noise = (~pick) & inner & (torch.rand(ids.shape, generator=gen) < p_noise)
    inputs[noise] = rand_words[noise]
    return inputs, attn, labels


@torch.no_grad()
def masked_accuracy(model, rows: list[list[int]], mask_id: int) -> tuple[int, int]:
    """Mask every word of every sentence in turn; count arg-max hits."""
    hits = total = 0
    for r in rows:
        ids = torch.tensor(r)
        pos = torch.arange(1, len(r) - 1)
        batch = ids.repeat(len(pos), 1)
        batch[torch.arange(len(pos)), pos] = mask_id
        pred = model(batch).logits[torch.arange(len(pos)), pos].argmax(-1)
        hits += int((pred == ids[pos]).sum())
        total += len(pos)
    return hits, total


@torch.no_grad()
def greedy_masked_correction(model, tok, text: str, threshold: float = 0.05) -> tuple[str, float]:
    """The assignment's masked correction (one edit per round); also p(first edited token)."""
    ids = torch.tensor(tok.encode(text))
    pos = torch.arange(1, len(ids) - 1)
    rows = torch.arange(len(pos))
    first_p = float("nan")
    for _ in range(len(pos)):
        batch = ids.repeat(len(pos), 1)
        batch[rows, pos] = tok.mask_token_id
        probs = model(batch).logits[rows, pos].softmax(-1)
        p_cur = probs[rows, ids[pos]]
        best = probs.argmax(-1)
        ok = (p_cur < threshold) & (best != ids[pos])
        if not ok.any():
            break
        m = int(torch.where(ok, p_cur, torch.full_like(p_cur, 2.0)).argmin())
        if first_p != first_p:
            first_p = float(p_cur[m])
        ids[pos[m]] = best[m]
    return tok.decode(ids, skip_special_tokens=True).replace(" ", ""), first_p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)

    train, held = corpus()
    tok = build_tokenizer(word_tokenize(train), args.out)
    enc = [tok.encode(s) for s in train]
    enc_held = [tok.encode(s) for s in held]
    assert all(tok.unk_token_id not in r for r in enc + enc_held)
    first_word = len(SPECIALS)
    n_words = len(tok.vocab) - first_word

    config = BertConfig(
        vocab_size=len(tok.vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, intermediate_size=4 * args.hidden,
        max_position_embeddings=32, type_vocab_size=2, pad_token_id=tok.pad_token_id,
    )
    model = BertForMaskedLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / args.steps))
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.perf_counter()
    model.train()
    for step in range(args.steps):
        idx = torch.randint(len(enc), (args.batch,), generator=gen).tolist()
        inputs, attn, labels = make_batch(
            [enc[i] for i in idx], gen, n_words=n_words, first_word=first_word,
            mask_id=tok.mask_token_id, pad_id=tok.pad_token_id, p_mask=0.15, p_noise=args.noise)
        loss = model(input_ids=inputs, attention_mask=attn, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 500 == 0:
            print(f"step {step + 1:5d}  loss {loss.item():.4f}", flush=True)
    seconds = time.perf_counter() - t0
    model.eval()

    h_hit, h_tot = masked_accuracy(model, enc_held, tok.mask_token_id)
    t_hit, t_tot = masked_accuracy(model, enc, tok.mask_token_id)
    model.save_pretrained(str(args.out), safe_serialization=True)
    for f in args.out.iterdir():  # the sandboxed grader reads them as another user
        f.chmod(0o644)
    here = Path(__file__).resolve().parent
    (here / "corpus_train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (here / "corpus_held_out.txt").write_text("\n".join(held) + "\n", encoding="utf-8")
    fixed, p_aki = greedy_masked_correction(model, tok, "私は野菜が空きだ")
    unchanged = sum(greedy_masked_correction(model, tok, s)[0] == s for s in train + held)
    n_params = sum(p.numel() for p in model.parameters())
    report = {
        "sentences_train": len(train), "sentences_held_out": len(held),
        "vocab_size": len(tok.vocab), "parameters": n_params, "steps": args.steps,
        "train_seconds": round(seconds, 1),
        "held_out_masked_accuracy": round(h_hit / h_tot, 4), "held_out_tokens": h_tot,
        "train_masked_accuracy": round(t_hit / t_tot, 4),
        "lecture": f"私は野菜が空きだ -> {fixed} (first round p(空き) = {p_aki:.2e})",
        "correct_sentences_unchanged": f"{unchanged} / {len(train) + len(held)}",
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
