using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// AdamW and SGD (with momentum) on the model's flat parameter and gradient buffers: a handful of tensor ops per
/// step, no host round trips. Semantics follow torch.optim.AdamW / torch.optim.SGD (decoupled weight decay for AdamW,
/// L2 added to the gradient for SGD). Optional global-norm gradient clipping, computed on the device.
/// Weight decay shrinks only the weight matrices and embeddings (every W_*, <see cref="ISequenceModel.DecayMask"/>)
/// unless <see cref="TrainingOptions.WeightDecayAppliesTo"/> is "all": biases and LayerNorm gains/biases are not
/// decayed (nanoGPT's rule: decay parameters with ≥ 2 dimensions, with TransformerLens's [H, e] attention biases
/// counted as the biases they are).
/// </summary>
public sealed class FlatOptimizer : IDisposable
{
    private readonly Tensor _params;
    private readonly Tensor _grads;
    private readonly TrainingOptions _options;
    private readonly Tensor? _decayMask;      // bool [N]: where decay applies; null = everywhere
    private readonly Tensor? _decayMaskValues; // the same as 0/1 in the parameters' dtype (SGD's L2 term)

    public FlatOptimizer(ISequenceModel model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        _params = model.FlatParameters;
        _grads = model.FlatGradients;
        _options = options;
        FirstMoment = zeros_like(_params);
        SecondMoment = options.Optimizer == "adamw" ? zeros_like(_params) : null;
        if (options.WeightDecayAppliesTo == "matrices")
        {
            _decayMask = model.DecayMask;
            _decayMaskValues = _decayMask.to(_params.dtype);
        }
    }

    /// <summary>AdamW exp_avg, or SGD's momentum buffer.</summary>
    public Tensor FirstMoment { get; }

    /// <summary>AdamW exp_avg_sq; null for SGD.</summary>
    public Tensor? SecondMoment { get; }

    /// <summary>Updates taken so far (AdamW's bias-correction step).</summary>
    public long StepCount { get; set; }

    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        if (_options.GradClip > 0)
        {
            var coefficient = (_options.GradClip / (_grads.norm() + 1e-6)).clamp_max(1.0);
            _grads.mul_(coefficient);
        }

        StepCount++;
        if (SecondMoment is not null)
        {
            double b1 = _options.Beta1, b2 = _options.Beta2;
            if (_options.WeightDecay > 0)
            {
                double factor = 1 - (lr * _options.WeightDecay); // torch.optim.AdamW: p ← p·(1 − lr·wd), before the Adam step
                if (_decayMask is null)
                {
                    _params.mul_(factor);
                }
                else
                {
                    _params.copy_(where(_decayMask, _params.mul(factor), _params));
                }
            }

            FirstMoment.mul_(b1).add_(_grads, alpha: 1 - b1);
            SecondMoment.mul_(b2).addcmul_(_grads, _grads, value: 1 - b2);
            double correction1 = 1 - Math.Pow(b1, StepCount);
            double correction2 = 1 - Math.Pow(b2, StepCount);
            var denominator = SecondMoment.sqrt().div_(Math.Sqrt(correction2)).add_(1e-8);
            _params.addcdiv_(FirstMoment, denominator, value: -lr / correction1);
        }
        else
        {
            if (_options.WeightDecay > 0)
            {
                if (_decayMaskValues is null)
                {
                    _grads.add_(_params, alpha: _options.WeightDecay);
                }
                else
                {
                    _grads.addcmul_(_params, _decayMaskValues, value: _options.WeightDecay);
                }
            }

            if (_options.Momentum > 0)
            {
                if (StepCount == 1)
                {
                    FirstMoment.copy_(_grads);
                }
                else
                {
                    FirstMoment.mul_(_options.Momentum).add_(_grads);
                }

                _params.add_(FirstMoment, alpha: -lr);
            }
            else
            {
                _params.add_(_grads, alpha: -lr);
            }
        }
    }

    public void Dispose()
    {
        FirstMoment.Dispose();
        SecondMoment?.Dispose();
        _decayMaskValues?.Dispose();
    }
}
