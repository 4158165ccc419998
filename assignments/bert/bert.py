# %% [markdown]
# # BERT: masked language models and text correction
#
# BERT is a Transformer encoder trained by 事前学習 (pre-training) on a
# マスク言語モデル (masked language model, MLM) objective: hide some tokens of a
# sentence behind a `[MASK]` token and predict them from the context on *both* sides.
# Pre-trained this way, the model knows which words fit where — and that is exactly what
# a text corrector needs. This assignment corrects
#
# 「私は野菜が**空き**だ」 → 「私は野菜が**好き**だ」
#
# (空き "vacancy" and 好き "liked" are both read *suki*: a typical input-method slip).
# In this assignment you write
#
# 1. the MLM training loss (the pre-training objective of the lecture's BERT part),
# 2. the lecture's one-pass correction of slide 77 (tokenise, run the model, take the
#    arg-max, decode),
# 3. a **masked** correction, one edit at a time — beyond the slides, this course's
#    improvement of slide 77,
# 4. `correct_sentence`, which runs it on text with a Hugging Face トークナイザ (tokenizer).
#
# The course ships its own small Japanese BERT (2 layers, hidden size 64, a vocabulary of 44
# words, trained on everyday template sentences). It comes with the grader: the folder
# `autograder/assets/bert_ja` of the installed `autograder` package (in Python,
# `from autograder.helpers.bert import ASSETS`), so no download is needed.
#
# Conventions used throughout: token ids are `int64`; logits are floating with the
# vocabulary size $V$ as the last dimension; `special` is a `bool` tensor marking the
# special tokens `[CLS]`, `[SEP]` and `[PAD]`, which are never changed; nothing is
# modified in place; results live on the device of the inputs.

# %%
import torch
import torch.nn.functional as F


def logits_of(output):
    """The logits of a model's output: a tensor, or what Hugging Face models return.

    Hugging Face models return an object with a ``.logits`` attribute; plain PyTorch
    models (like the grader's small fake models) may return the logits tensor itself.
    Use ``logits_of(model(ids))`` so your code works with both.
    """
    return output.logits if hasattr(output, "logits") else output


# %% [markdown]
# ## 1. The masked-LM loss (事前学習)
#
# During pre-training some positions of each sentence are chosen (BERT picks 15 %), the
# chosen tokens are hidden (mostly replaced by `[MASK]`), and the model must predict the
# original token there. The targets are written as `labels` with the same shape as the
# ids: the original token id at a chosen position, and **−100** everywhere else (the
# value Hugging Face and `F.cross_entropy` use for "ignore this position"). The loss is
# the mean cross-entropy over the chosen positions $\mathcal{M}$ only:
#
# $$\mathcal{L}_{\text{MLM}} = -\frac{1}{|\mathcal{M}|} \sum_{(b, i) \in \mathcal{M}}
#   \log \operatorname{softmax}(z_{b,i})_{y_{b,i}} .$$
#
# Note the average is over all labelled positions of the whole batch, not per sentence.


# %%
def mlm_loss(logits, labels):
    """Mean cross-entropy of a masked LM over the labelled positions.

    L = -1/|M| Σ_{(b,i) ∈ M} log softmax(logits[b, i])[labels[b, i]],
    M = the positions with labels[b, i] != -100 (at least one exists).

    Args:
        logits: (B, L, V) floating, the model's output.
        labels: (B, L) int64: the original token id at each chosen (masked) position,
            -100 at every position that is not scored.

    Returns:
        A scalar (0-dim tensor) in the dtype of ``logits``: the mean over all labelled
        positions of the batch (not a mean of per-sentence means). Positions labelled
        -100 contribute nothing.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 2. The lecture's one-pass correction (slide 77)
#
# Slide 77 loads a Japanese BERT with Hugging Face's `BertLMHeadModel`, runs it on the
# tokenised sentence (トークナイズ: `[CLS] 私 は 野菜 が 空き だ [SEP]`) and takes
#
# ```python
# logits[0][1:-1].argmax(axis=1)
# ```
#
# the arg-max over the vocabulary at every position of the first sentence except the first
# and the last, `[CLS]` and `[SEP]`; decoding those ids gives the corrected text. Every word
# is replaced by the model's arg-max, in one pass.
#
# `argmax_correction` is the same step for a batch. The slice `[1:-1]` is right only for one
# sentence without padding, so the special tokens `[CLS]`/`[SEP]`/`[PAD]` are given as a
# mask instead: the function keeps the input id wherever `special` is true (the model's
# arg-max there is meaningless) and returns whole rows, special tokens included.


# %%
def argmax_correction(logits, input_ids, special):
    """The one-pass correction: every non-special token becomes its arg-max.

    out[b, i] = argmax_v logits[b, i, v]   where special[b, i] is False,
    out[b, i] = input_ids[b, i]            where special[b, i] is True.

    Args:
        logits: (B, L, V) floating, the model's output for ``input_ids``.
        input_ids: (B, L) int64 token ids.
        special: (L,) or (B, L) bool, True at [CLS]/[SEP]/[PAD] (an (L,) mask applies to
            every sentence of the batch).

    Returns:
        (B, L) int64 ids on the device of ``input_ids``; ``input_ids`` is not modified.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 3. Why masking is better (beyond the slides)
#
# The one-pass correction asks the model about a word *while showing it that word*. A
# masked LM was trained to predict hidden words; at a visible word it has learnt mostly
# to copy what it sees, so a wrong word may be copied back. And all positions change at
# once: wherever the model happens to prefer another word, a correct word is replaced
# too. With the course's model the one pass does fix 「私は野菜が空きだ」, but it turns
# 「彼女は果物が空きだ」 into 「彼女は**野菜**が好きだ」: the correct 果物 is lost because the
# model likes 野菜 a little better in that slot. Nothing in the one pass asks whether the
# word that is there is *improbable*.
#
# The masked variant asks the question the model was pre-trained on. For every
# non-special position $i$ of the sentence $x$, hide $x_i$ and compute
#
# $$p_i = p(x_i \mid x_{\setminus i}) = \operatorname{softmax}\big(f(x \text{ with } x_i
#   \to \texttt{[MASK]})_i\big)_{x_i},$$
#
# the probability of the word that is actually there, given only its context. A small
# $p_i$ flags a word that does not fit. All these masked copies form one batch, so one
# model call scores every position. Then
#
# * among the positions with $p_i <$ `threshold` whose arg-max differs from $x_i$, edit
#   **only the least probable one** (ties: the first position), replacing it by the
#   arg-max;
# * repeat with the edited sentence, until no position qualifies (or `max_edits`).
#
# Editing one token per round matters: an error also lowers the probability of its
# *correct* neighbours (their context contains the error). Once the worst token is
# fixed, the neighbours look right again and stay.
#
# First the batch of masked copies:


# %%
def masked_candidates(input_ids, mask_token_id, special):
    """One copy of the sentence per non-special position, with that position masked.

    Args:
        input_ids: (L,) int64, one sentence.
        mask_token_id: int, the id of [MASK].
        special: (L,) bool, True at [CLS]/[SEP]/[PAD] (never masked).

    Returns:
        ``(batch, positions)``: ``positions`` (M,) int64 are the M non-special positions
        in increasing order; ``batch`` (M, L) int64 where row m equals ``input_ids``
        except ``batch[m, positions[m]] = mask_token_id``. M may be 0 (then ``batch`` has
        shape (0, L)). ``input_ids`` is not modified.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %%
def masked_correction(model, input_ids, mask_token_id, special, threshold=0.05, max_edits=None):
    """Correct a sentence one token per round with a masked language model.

    Each round: build ``masked_candidates`` of the current sentence and score them with
    ONE batched call ``model(batch)`` (never one call per position). For each candidate m
    with masked position i = positions[m], let p = softmax(logits[m, i]) over the
    vocabulary, p_i = p[current token at i] and a_i = argmax p. A position qualifies when
    p_i < threshold and a_i differs from the current token. Replace only the qualifying
    position with the smallest p_i (ties: the smallest position) by a_i; then start the
    next round with the edited sentence. Stop when no position qualifies or after
    ``max_edits`` edits.

    Args:
        model: a masked LM; ``model(ids)`` with ids (B, L) int64 returns logits (B, L, V)
            or an object with ``.logits`` (Hugging Face) — use ``logits_of``.
        input_ids: (L,) int64, one sentence (with its special tokens).
        mask_token_id: int, the id of [MASK].
        special: (L,) bool, True at [CLS]/[SEP]/[PAD]; these are never masked or changed.
        threshold: float, the probability below which a token counts as suspicious.
        max_edits: int or None; None means the number of non-special positions.

    Returns:
        (L,) int64, the corrected sentence; ``input_ids`` is not modified. Graded also with
        the course's model: with ``max_edits=1``, the first edit of 「私は野菜が空きだ」
        must replace 空き by 好き.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 4. From text to text
#
# `correct_sentence` puts it together with a Hugging Face tokenizer: tokenise (the
# course's tokenizer splits Japanese into words with MeCab and adds `[CLS]`/`[SEP]`),
# find the special positions, run `masked_correction`, and decode. A word-level
# tokenizer's `decode` joins the words with spaces (「私 は 野菜 が 好き だ」); Japanese is
# written without them, so remove them.
#
# Useful tokenizer attributes: `tokenizer(text, return_tensors="pt")["input_ids"]`,
# `tokenizer.mask_token_id`, `tokenizer.cls_token_id`, `tokenizer.sep_token_id`,
# `tokenizer.pad_token_id`, `tokenizer.decode(ids, skip_special_tokens=True)`.


# %%
def correct_sentence(text, tokenizer, model, threshold=0.05):
    """Correct a Japanese sentence with a masked LM, one word per round.

    Tokenise ``text`` with ``tokenizer`` (a Hugging Face tokenizer; it adds [CLS] and
    [SEP]), mark [CLS]/[SEP]/[PAD] as special, run ``masked_correction`` with
    ``tokenizer.mask_token_id`` and ``threshold`` (default ``max_edits``), and decode
    without the special tokens and without spaces between words.

    Example (the course model): "私は野菜が空きだ" → "私は野菜が好きだ".

    Graded end to end with the course's model and tokenizer (the ones of section 5):
    "私は野菜が空きだ" must give exactly "私は野菜が好きだ", correct sentences of the
    model's corpus must come back unchanged, and of 7 held-out sentences with one wrong
    word each (空き for 好き, or a wrong particle; some never seen by the model) at least
    6 must come back exactly corrected — all or nothing, 3 points. "Exactly" means the
    same characters: no spaces, no [CLS]/[SEP].

    Returns:
        str, the corrected sentence.
    """
    # YOUR CODE HERE
    raise NotImplementedError("write your solution here")


# %% [markdown]
# ## 5. Try it
#
# The course's model ships with the grader (`autograder/assets/bert_ja` in the installed
# `autograder` package, `ASSETS` below). Compare the one-pass arg-max with the masked
# correction, and look at the probabilities $p_i$ of the first round: 空き should stand
# out. Then try 「彼女は果物が空きだ」 and a sentence of your own (the model knows only the
# 44 words of its vocabulary, `ASSETS / "vocab.txt"`).

# %%
if __name__ == "__main__":
    from transformers import BertForMaskedLM, BertJapaneseTokenizer

    from autograder.helpers.bert import ASSETS  # the course's small Japanese BERT

    tokenizer = BertJapaneseTokenizer.from_pretrained(ASSETS, local_files_only=True)
    model = BertForMaskedLM.from_pretrained(ASSETS, local_files_only=True).eval()
    text = "私は野菜が空きだ"  # try "彼女は果物が空きだ" too
    enc = tokenizer(text, return_tensors="pt")
    print(tokenizer.convert_ids_to_tokens(enc["input_ids"][0]))
    with torch.no_grad():
        logits = model(**enc).logits
    special = torch.isin(enc["input_ids"], torch.tensor(tokenizer.all_special_ids))
    one_pass = argmax_correction(logits, enc["input_ids"], special)
    print("one pass:", tokenizer.decode(one_pass[0], skip_special_tokens=True).replace(" ", ""))
    ids = enc["input_ids"][0]
    batch, positions = masked_candidates(ids, tokenizer.mask_token_id, special[0])
    with torch.no_grad():
        probs = model(batch).logits[torch.arange(len(positions)), positions].softmax(-1)
    for m, i in enumerate(positions.tolist()):
        token = tokenizer.convert_ids_to_tokens(int(ids[i]))
        guess = tokenizer.convert_ids_to_tokens(int(probs[m].argmax()))
        print(f"{token:>4}  p = {probs[m, ids[i]]:.4f}   arg-max: {guess}")
    print("masked:  ", correct_sentence(text, tokenizer, model))


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("bert")` runs the public tests on the cells you have executed
# (`check("bert", "FUNCTION")`: only the tests of one function); your grade also counts hidden
# tests of the same functions. Each test must finish within **10 seconds** (the default limit;
# a few end-to-end tests allow more) or it fails with "… timed out after 10 s".
#
# **What runs when this notebook is graded.** Every code cell is executed, top to bottom
# (lines starting with `%` or `!` are dropped). Each cell may run for at most 10 s and all of
# them together for 60 s, and they run again whenever the grader restarts your code after a
# crash or a timeout. Code under `if __name__ == "__main__":`, like the cell below, runs when
# you run the notebook yourself but is skipped at grading: put experiments there, or keep
# them cheap.

# %%
if __name__ == "__main__":
    from autograder import check

    check("bert")
