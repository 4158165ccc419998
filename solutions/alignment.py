# %% [markdown]
# # Alignment: learning from human preferences
#
# A pretrained 大規模言語モデル (large language model) continues text plausibly, but not
# necessarily helpfully or safely. 人間のフィードバックによる強化学習 (RLHF,
# reinforcement learning from human feedback) aligns it with what people prefer in
# three steps:
#
# 1. collect 選好データ (preference data): for a prompt $x$, annotators compare two
#    responses and mark the preferred one $y_w$ (chosen) over $y_l$ (rejected);
# 2. train a 報酬モデル (reward model) $r_\phi(x, y)$ on these comparisons;
# 3. fine-tune the 方策 (policy) $\pi_\theta$ with reinforcement learning (PPO) to
#    maximise the reward while staying close to the 参照モデル (reference model)
#    $\pi_{\mathrm{ref}}$, the model before fine-tuning.
#
# 直接選好最適化 (DPO, direct preference optimization) folds steps 2 and 3 into one
# classification loss on the policy itself. You write the three losses/rewards at the
# heart of these methods.
#
# Where it comes from: this whole assignment is **beyond the lecture slides**: the
# Bradley–Terry reward model and the KL-penalised reward follow RLHF as in Ouyang et al.
# (2022, InstructGPT), and DPO is Rafailov et al. (2023).
#
# Everything works per sequence: a reward or a log-probability
# $\log \pi(y \mid x)$ (the sum of the token log-probabilities of a response) is one
# number per example, so inputs are 1-D tensors of shape (B,).

# %%
import torch
import torch.nn.functional as F

# %% [markdown]
# ## 1. The reward model: Bradley–Terry
#
# The Bradley–Terry model says that a response with a higher reward is more likely to be
# preferred, with probability given by the シグモイド関数 (sigmoid) of the reward gap:
#
# $$P(y_w \succ y_l \mid x) = \sigma\big(r(x, y_w) - r(x, y_l)\big).$$
#
# Maximum likelihood over $B$ comparisons gives the reward-model loss
#
# $$\mathcal{L}_{\mathrm{RM}} = -\frac{1}{B}\sum_{b=1}^{B} \log \sigma\big(r^{(b)}_w - r^{(b)}_l\big).$$
#
# Numerically, $\log\sigma(z)$ must not be computed as `log(sigmoid(z))`: for
# $z = -100$ the sigmoid underflows to 0 in float32 and the log becomes $-\infty$. Use
# `F.logsigmoid(z)` (or the identity $-\log\sigma(z) = \operatorname{softplus}(-z)$).
# At a gap of 0 the loss is $\log 2$: the model cannot tell the two responses apart.


# %%
def reward_model_loss(r_chosen, r_rejected):
    """Bradley–Terry loss: -mean log σ(r_chosen − r_rejected); stable and differentiable.

    Args:
        r_chosen: (B,) rewards of the preferred responses.
        r_rejected: (B,) rewards of the rejected responses.

    Returns:
        A scalar (0-dim tensor) in the input dtype. Must be finite for reward gaps of
        ±100 in float32 (use a stable log-sigmoid, not log(sigmoid(·))); equals log 2 when
        the two rewards are equal. Gradients flow to both inputs: minimising the loss
        raises r_chosen and lowers r_rejected.
    """
    # BEGIN SOLUTION
    return -F.logsigmoid(r_chosen - r_rejected).mean()
    # END SOLUTION


# %% [markdown]
# ## 2. The KL-penalised reward (RLHF with PPO)
#
# Maximising the learned reward alone lets the policy drift to strange text that fools
# the reward model ("reward hacking"). RLHF therefore maximises
#
# $$\mathbb{E}_{y \sim \pi_\theta}\big[r(x, y)\big] - \beta\,
#   \mathrm{KL}\big(\pi_\theta(\cdot \mid x) \,\|\, \pi_{\mathrm{ref}}(\cdot \mid x)\big),$$
#
# and since $\mathrm{KL} = \mathbb{E}_{y\sim\pi_\theta}[\log \pi_\theta(y|x) - \log
# \pi_{\mathrm{ref}}(y|x)]$, each sampled response gets the KL-ペナルティ付き報酬
# (KL-penalised reward)
#
# $$\tilde r(x, y) = r(x, y) - \beta\,\big(\log \pi_\theta(y \mid x) - \log \pi_{\mathrm{ref}}(y \mid x)\big).$$
#
# A response the policy likes more than the reference does is penalised; one it likes
# less gets a bonus (the per-sample estimate can be negative, the KL on average is not).


# %%
def kl_penalized_reward(reward, logp_policy, logp_ref, beta):
    """Per-sequence reward with the KL penalty: reward − β·(logp_policy − logp_ref).

    Args:
        reward: (B,) reward-model scores r(x, y).
        logp_policy: (B,) log π_θ(y|x) of each sampled response under the policy.
        logp_ref: (B,) log π_ref(y|x) of the same responses under the reference model.
        beta: float ≥ 0, the strength of the KL penalty.

    Returns:
        (B,) in the input dtype. The sign convention: where the policy gives a response
        more probability than the reference (logp_policy > logp_ref) the reward goes down,
        where it gives less the reward goes up; β = 0 returns the reward unchanged.
    """
    # BEGIN SOLUTION
    return reward - beta * (logp_policy - logp_ref)
    # END SOLUTION


# %% [markdown]
# ## 3. Direct preference optimization (DPO)
#
# The KL-regularised objective above has a closed-form optimum,
# $\pi^*(y|x) \propto \pi_{\mathrm{ref}}(y|x)\exp(r(x,y)/\beta)$. Solving it for the
# reward gives the 暗黙の報酬 (implicit reward) of any policy,
#
# $$\hat r_\theta(x, y) = \beta \log \frac{\pi_\theta(y \mid x)}{\pi_{\mathrm{ref}}(y \mid x)}
#   \;(+\text{ a term that depends only on } x),$$
#
# and plugging it into the Bradley–Terry loss (the $x$-only term cancels in the gap)
# trains the policy directly on the preference pairs, with no reward model and no RL:
#
# $$\mathcal{L}_{\mathrm{DPO}} = -\frac{1}{B}\sum_b \log\sigma\Big(\beta\big[
#   (\log\pi_\theta(y_w|x) - \log\pi_{\mathrm{ref}}(y_w|x))
#   - (\log\pi_\theta(y_l|x) - \log\pi_{\mathrm{ref}}(y_l|x))\big]\Big).$$
#
# When the policy equals the reference every implicit reward is 0 and the loss is
# $\log 2$. Sequence log-probabilities are large negative numbers (hundreds), so the
# margin can be large: use the stable log-sigmoid again.


# %%
def dpo_loss(logp_chosen, logp_rejected, ref_logp_chosen, ref_logp_rejected, beta):
    """DPO loss: -mean log σ(β[(logp_chosen − ref_logp_chosen) − (logp_rejected − ref_logp_rejected)]).

    This is the Bradley–Terry loss ``reward_model_loss`` applied to the implicit rewards
    β·(log π_θ − log π_ref) of the chosen and the rejected responses.

    Args:
        logp_chosen: (B,) log π_θ(y_w|x), sequence log-probabilities under the policy.
        logp_rejected: (B,) log π_θ(y_l|x).
        ref_logp_chosen: (B,) log π_ref(y_w|x) under the frozen reference model.
        ref_logp_rejected: (B,) log π_ref(y_l|x).
        beta: float > 0.

    Returns:
        A scalar in the input dtype; stable (finite for margins of ±100 in float32),
        log 2 when the policy equals the reference, differentiable in the policy
        log-probabilities (minimising it raises logp_chosen and lowers logp_rejected).
    """
    # BEGIN SOLUTION
    margin = beta * ((logp_chosen - ref_logp_chosen) - (logp_rejected - ref_logp_rejected))
    return -F.logsigmoid(margin).mean()
    # END SOLUTION


# %% [markdown]
# ## 4. Try it: a reward model from synthetic preferences
#
# Responses are feature vectors; a hidden "true" reward $w^\top y$ decides which of two
# responses the annotator prefers (with Bradley–Terry noise). A linear reward model
# trained with your loss recovers the ranking of new pairs.

# %%
if __name__ == "__main__":
    gen = torch.Generator().manual_seed(0)
    d, n = 6, 512
    w_true = torch.randn(d, generator=gen)
    a, b = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)
    prefer_a = torch.rand(n, generator=gen) < torch.sigmoid(3 * (a - b) @ w_true)
    chosen, rejected = torch.where(prefer_a[:, None], a, b), torch.where(prefer_a[:, None], b, a)
    rm = torch.nn.Linear(d, 1)
    opt = torch.optim.Adam(rm.parameters(), lr=0.05)
    for step in range(200):
        loss = reward_model_loss(rm(chosen[:400]).squeeze(-1), rm(rejected[:400]).squeeze(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (rm(chosen[400:]) > rm(rejected[400:])).float().mean()
    print(f"final loss {loss.item():.3f}, held-out ranking accuracy {acc.item():.2f}")
    print("DPO at the reference:", dpo_loss(torch.tensor([-12.0]), torch.tensor([-15.0]),
                                            torch.tensor([-12.0]), torch.tensor([-15.0]), 0.1).item(),
          "= log 2 =", torch.log(torch.tensor(2.0)).item())


# %% [markdown]
# ## Check your work
#
# Run the cell below: `check("alignment")` runs the public tests on the cells you have executed
# (`check("alignment", "FUNCTION")`: only the tests of one function); your grade also counts hidden
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

    check("alignment")
