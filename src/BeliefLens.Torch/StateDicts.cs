using BeliefLens.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>Loading a state dict into a model's parameters: the one place that checks keys, shapes and dtypes.</summary>
internal static class StateDicts
{
    /// <summary>
    /// Refuses unknown keys (unless <paramref name="ignorable"/>), missing keys, wrong shapes and non-float tensors, each in
    /// one line ending in the caller's hint; then copies every tensor into its parameter (through views, into flat buffers).
    /// </summary>
    public static void CopyInto(IReadOnlyDictionary<string, Tensor> state, IReadOnlyDictionary<string, Tensor> parameters, string source,
        string mismatchHint, string shapeHint, Func<string, bool>? ignorable = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (string key in state.Keys)
        {
            if (!parameters.ContainsKey(key) && !(ignorable?.Invoke(key) ?? false))
            {
                throw new BeliefLensInputException($"{source}: unexpected key '{key}'; {mismatchHint}");
            }
        }

        foreach (var (key, parameter) in parameters)
        {
            if (!state.TryGetValue(key, out var value))
            {
                throw new BeliefLensInputException($"{source}: key '{key}' is missing; {mismatchHint}");
            }

            if (!value.shape.SequenceEqual(parameter.shape))
            {
                throw new BeliefLensInputException(
                    $"{source}: '{key}' has shape [{string.Join(",", value.shape)}] but the model config needs [{string.Join(",", parameter.shape)}]; {shapeHint}");
            }

            if (!value.is_floating_point())
            {
                throw new BeliefLensInputException($"{source}: '{key}' is not a floating-point tensor.");
            }
        }

        using var scope = NewDisposeScope();
        using var guard = no_grad();
        foreach (var (key, parameter) in parameters)
        {
            parameter.copy_(state[key].to(parameter.dtype, parameter.device));
        }
    }
}
