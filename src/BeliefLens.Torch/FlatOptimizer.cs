using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// AdamW and SGD (with momentum) on the model's flat parameter and gradient buffers: a handful of tensor ops per
/// step, no host round trips. Semantics follow torch.optim.AdamW / torch.optim.SGD (decoupled weight decay for AdamW,
/// L2 added to the gradient for SGD). Optional global-norm gradient clipping, computed on the device.
/// </summary>
public sealed class FlatOptimizer : IDisposable
{
    private readonly Tensor _params;
    private readonly Tensor _grads;
    private readonly TrainingOptions _options;

    public FlatOptimizer(HookedTransformer model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        _params = model.FlatParameters;
        _grads = model.FlatGradients;
        _options = options;
        FirstMoment = zeros_like(_params);
        SecondMoment = options.Optimizer == "adamw" ? zeros_like(_params) : null;
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
                _params.mul_(1 - (lr * _options.WeightDecay));
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
                _grads.add_(_params, alpha: _options.WeightDecay);
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
    }
}
